"""A fake Slack Web API over real HTTP on loopback: the bot's end-to-end tests and benchmarks
talk to it, and ``serve --demo`` starts one when no Slack token is set (``demo/slack.py``).

Like bolt-python's own ``tests/mock_web_api_server`` (SLACK.md section 10), a stdlib HTTP server
in a thread, but fuller: it records every call, keeps the messages it was sent (per channel,
with threads, edits and deletes), serves ``response_url``s, lists its channels
(``conversations.list``, paged with cursors as Slack pages it), and refuses what Slack refuses:

- a missing or unknown bot token: ``{"ok": false, "error": "invalid_auth"}``;
- ``conversations.list`` of a channel type whose scope is not in ``scopes`` (when given):
  ``missing_scope``;
- Block Kit limit violations (SLACK.md section 5, ``blocks.py``): ``chat.*`` answer
  ``invalid_blocks`` with the json-pointer message, ``views.*`` ``invalid_arguments``; a
  ``response_url`` answers HTTP 400 ``invalid_blocks``;
- a message with neither ``text`` nor ``blocks``: ``no_text``;
- a sixth post to one ``response_url``: HTTP 404 ``used_url`` (Slack documents the limit, not
  the error body: the body here is an assumption); a ``response_url`` it did not hand out:
  404, unless ``any_response_url`` (the demo, whose commands are typed by hand);
- channels listed in ``not_in_channel``: ``not_in_channel``;
- ``rate_limit[method] = n``: the next n calls answer 429 with ``Retry-After``;
- channels listed in ``unknown_channels``: ``channel_not_found``;
- file uploads as ``files_upload_v2`` makes them (docs.slack.dev, files.getUploadURLExternal and
  files.completeUploadExternal): ``files.getUploadURLExternal`` takes ``filename`` and ``length``
  (``invalid_arguments`` without them) and answers an ``upload_url`` on this server and a
  ``file_id``; the file's bytes are POSTed raw to that URL (HTTP 200 ``OK - <length>``, 404 for a
  URL it did not issue or already used); ``files.completeUploadExternal`` takes ``files`` (JSON:
  ``[{"id", "title"}]``) and an optional ``channel_id`` and shares them there
  (``not_in_channel`` / ``channel_not_found`` as for posts). A file id not issued, or never
  uploaded, answers ``file_not_found`` (the docs list no code for it: an assumption). Uploaded
  files are kept in ``files`` (id -> :class:`UploadedFile`);
- interactivity (SLACK.md sections 3 and 9): ``views.open`` takes a ``trigger_id`` the fake
  issued (:meth:`FakeSlack.new_trigger`), once, within 3 seconds (``invalid_trigger_id``,
  ``exchanged_trigger_id``, ``expired_trigger_id``), and checks the modal's limits;
  ``conversations.open`` opens a DM (``D…``) with a user; ``usergroups.users.list`` answers the
  members of ``usergroups`` (``no_such_subteam`` otherwise).

``hold(method, channel=...)`` makes matching calls wait until the test releases them (a slow
Slack, without sleeping): its ``arrived`` event is set when the first one is waiting.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

from sandbox.slack.blocks import MESSAGE_BLOCKS, VIEW_BLOCKS, validate_blocks

HOLD_LIMIT = 30.0  # seconds a held call waits at most, so a test that forgets to release ends
LIST_LIMIT = 1000  # conversations.list: "limit ... no larger than 1000"
# conversations.list: the scope each channel type needs (only it is checked, when ``scopes`` is given)
CHANNEL_TYPES = {"public_channel": "channels:read", "private_channel": "groups:read"}
TRIGGER_SECONDS = 3.0  # "Triggers expire in three seconds" (SLACK.md section 3)
MODAL_TEXT, METADATA, CALLBACK_ID = 24, 3000, 255


@dataclass
class Call:
    method: str  # "chat.postMessage" or "response_url"
    params: dict[str, Any]
    token: str | None = None
    url_id: str | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived (benchmarks read it)


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: int = 0
    deleted: bool = False
    files: list[str] = field(default_factory=list)  # ids of files shared as this message


@dataclass
class Hold:
    """Calls to ``method`` (and ``channel``, when given) wait until :meth:`release`."""

    method: str
    channel: str | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        return method == self.method and (self.channel is None or params.get("channel") == self.channel)

    def release(self) -> None:
        self.released.set()


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    archived: bool = False
    member: bool = True  # private channels are listed only to members

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.private,
            "is_group": self.private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_member": self.member,
            "created": 1700000000,
        }


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int  # as announced to files.getUploadURLExternal
    alt_txt: str | None = None
    data: bytes | None = None  # None until the upload URL received it
    title: str | None = None
    channel: str | None = None  # where files.completeUploadExternal shared it
    completed: bool = False


@dataclass
class ResponseUrl:
    id: str
    posts: list[dict[str, Any]] = field(default_factory=list)  # every accepted payload
    current: dict[str, Any] | None = None  # what the user sees now (after replace / delete)
    deleted: bool = False


class FakeSlack:
    """``FakeSlack().start()``; ``api_url`` for ``SLACK_API_URL``; ``stop()`` when done."""

    def __init__(
        self,
        *,
        tokens: tuple[str, ...] = ("xoxb-test-token",),
        team_id: str = "T0TEST",
        bot_user_id: str = "U0BOT",
        channels: tuple[Channel, ...] = (),
        scopes: frozenset[str] | None = None,
        any_response_url: bool = False,
    ) -> None:
        self.tokens = set(tokens)
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.channels: dict[str, Channel] = {c.id: c for c in channels}
        self.scopes = scopes  # None: every scope granted
        self.any_response_url = any_response_url
        self.listeners: list[Callable[[Call], None]] = []  # told of every call, after it is answered
        self.calls: list[Call] = []
        self.messages: list[Posted] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.views: dict[str, list[dict[str, Any]]] = {}  # user id -> published views, oldest first
        self.response_urls: dict[str, ResponseUrl] = {}
        self.not_in_channel: set[str] = set()
        self.unknown_channels: set[str] = set()
        self.files: dict[str, UploadedFile] = {}
        self._uploads: dict[str, str] = {}  # upload URL token -> file id, until used
        self.rate_limit: dict[str, int] = {}
        self.holds: list[Hold] = []
        self.rejected: list[tuple[str, Any]] = []  # (method, error) of every refused call
        self.usergroups: dict[str, list[str]] = {}  # user-group id -> member user ids
        self.triggers: dict[str, float] = {}  # trigger id -> when issued (monotonic)
        self.opened: list[dict[str, Any]] = []  # modals opened with views.open, oldest first
        self.dms: dict[str, str] = {}  # user id -> the DM channel conversations.open gave
        self._used_triggers: set[str] = set()
        self._cond = threading.Condition()
        self._ts = 1700000000_000100
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                if self.path.startswith("/upload/"):  # a file's bytes, not a form
                    status, body, headers = fake._upload(self.path.rsplit("/", 1)[1], data)
                else:
                    status, body, headers = fake._handle(self.path, dict(self.headers.items()), data.decode("utf-8"))
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        for held in self.holds:
            held.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use -------------------------------------------------------------------

    def new_response_url(self) -> str:
        rid = uuid.uuid4().hex
        with self._cond:
            self.response_urls[rid] = ResponseUrl(rid)
        return f"{self.url}/respond/{rid}"

    def new_trigger(self) -> str:
        """A ``trigger_id`` as a click carries it: views.open takes it once, within 3 s."""
        trigger = f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex[:16]}"
        with self._cond:
            self.triggers[trigger] = time.monotonic()
        return trigger

    def dm_messages(self, user: str) -> list[Posted]:
        channel = self.dms.get(user)
        return self.channel_messages(channel) if channel else []

    def hold(self, method: str, *, channel: str | None = None) -> Hold:
        held = Hold(method, channel)
        with self._cond:
            self.holds.append(held)
        return held

    def response(self, url: str) -> ResponseUrl:
        return self.response_urls[url.rsplit("/", 1)[1]]

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def channel_messages(self, channel: str, *, thread_ts: str | None = None, top_level: bool = False) -> list[Posted]:
        with self._cond:
            return [
                m
                for m in self.messages
                if m.channel == channel
                and (thread_ts is None or m.thread_ts == thread_ts)
                and (not top_level or m.thread_ts is None)
            ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every call received)."""
        with self._cond:
            ok = self._cond.wait_for(predicate, timeout=timeout)
        if not ok:
            raise AssertionError(
                f"fake Slack: condition not met within {timeout}s; calls: {[c.method for c in self.calls]}"
            )
        return ok

    # -- serving --------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts += 100
        text = str(self._ts)
        return f"{text[:10]}.{text[10:]}"

    def _handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, str, dict[str, str]]:
        lower = {k.lower(): v for k, v in headers.items()}
        if path.startswith("/respond/"):
            return self._respond(path.rsplit("/", 1)[1], raw)
        if not path.startswith("/api/"):
            return 404, "not found", {}
        method = path[len("/api/") :].split("?", 1)[0]
        params = _parse(raw, lower.get("content-type", ""))
        auth = lower.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("token")
        with self._cond:
            holds = [h for h in self.holds if h.matches(method, params) and not h.released.is_set()]
        for held in holds:  # outside the lock: other calls go on while this one waits
            held.arrived.set()
            held.released.wait(HOLD_LIMIT)
        call = Call(method, params, token)
        with self._cond:
            self.calls.append(call)
            try:
                if self.rate_limit.get(method, 0) > 0:
                    self.rate_limit[method] -= 1
                    return (
                        429,
                        json.dumps({"ok": False, "error": "ratelimited"}),
                        {"Retry-After": "0", "Content-Type": "application/json"},
                    )
                result = self._api(method, params, token)
            finally:
                self._cond.notify_all()
        if not result.get("ok"):
            self.rejected.append((method, result.get("error")))
        self._tell(call)
        return 200, json.dumps(result), {"Content-Type": "application/json; charset=utf-8"}

    def _upload(self, token: str, data: bytes) -> tuple[int, str, dict[str, str]]:
        with self._cond:
            try:
                file_id = self._uploads.pop(token, None)
                self.calls.append(Call("upload", {"file_id": file_id, "length": len(data)}))
                if file_id is None:
                    return 404, "not found", {"Content-Type": "text/plain"}
                self.files[file_id].data = data
                return 200, f"OK - {len(data)}", {"Content-Type": "text/plain"}
            finally:
                self._cond.notify_all()

    def _files(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """files.getUploadURLExternal and files.completeUploadExternal (called with the lock held)."""
        if method == "files.getUploadURLExternal":
            filename, length = str(params.get("filename") or ""), str(params.get("length") or "")
            if not filename or not length.isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = "F" + uuid.uuid4().hex[:10].upper()
            token = uuid.uuid4().hex
            self.files[file_id] = UploadedFile(file_id, filename, int(length), params.get("alt_txt") or None)
            self._uploads[token] = file_id
            return {"ok": True, "upload_url": f"{self.url}/upload/{token}", "file_id": file_id}
        entries = _json_field(params.get("files"))
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(params.get("channel_id") or "")
        if channel and channel in self.unknown_channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel and channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        shared: list[UploadedFile] = []
        for entry in entries:
            found = self.files.get(str(entry.get("id") or ""))
            if found is None or found.data is None:
                return {"ok": False, "error": "file_not_found"}
            shared.append(found)
        for found, entry in zip(shared, entries, strict=True):
            found.title = str(entry.get("title") or found.filename)
            found.channel, found.completed = channel or None, True
            if channel:
                self.messages.append(Posted(channel, self._next_ts(), "", [], None, files=[found.id]))
        return {
            "ok": True,
            "files": [
                {
                    "id": f.id,
                    "name": f.filename,
                    "title": f.title,
                    "size": len(f.data or b""),
                    "alt_txt": f.alt_txt,
                    "channels": [channel] if channel else [],
                }
                for f in shared
            ],
        }

    def _tell(self, call: Call) -> None:
        for listener in list(self.listeners):
            listener(call)

    def _api(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Test",
                "user": "syncdoctor",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": "B0BOT",
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            blocks = _json_field(params.get("blocks"))
            if blocks is None and not params.get("text"):
                return {"ok": False, "error": "no_text"}
            if blocks is not None:
                errors = validate_blocks(blocks, MESSAGE_BLOCKS)
                if errors:
                    return {
                        "ok": False,
                        "error": "invalid_blocks",
                        "errors": errors,
                        "response_metadata": {"messages": errors},
                    }
            channel = str(params.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            channel_id = "C" + channel.lstrip("#").upper()[:10] if channel.startswith("#") else channel
            if channel in self.unknown_channels or channel_id in self.unknown_channels:
                return {"ok": False, "error": "channel_not_found"}
            if channel in self.not_in_channel or channel_id in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
            if method == "chat.postEphemeral":
                self.ephemeral.append(params)
                return {"ok": True, "message_ts": self._next_ts()}
            if method == "chat.update":
                for m in self.messages:
                    if m.channel == channel_id and m.ts == params.get("ts"):
                        m.text, m.blocks, m.edits = str(params.get("text") or ""), blocks or [], m.edits + 1
                        return {"ok": True, "channel": channel_id, "ts": m.ts, "text": m.text}
                return {"ok": False, "error": "message_not_found"}
            thread_ts = params.get("thread_ts")
            if thread_ts and not any(m.channel == channel_id and m.ts == thread_ts for m in self.messages):
                return {"ok": False, "error": "thread_not_found"}  # a thread must start at a message
            posted = Posted(channel_id, self._next_ts(), str(params.get("text") or ""), blocks or [], thread_ts)
            self.messages.append(posted)
            return {"ok": True, "channel": channel_id, "ts": posted.ts, "message": {"text": posted.text}}
        if method == "chat.delete":
            for m in self.messages:
                if m.channel == params.get("channel") and m.ts == params.get("ts"):
                    m.deleted = True
                    return {"ok": True}
            return {"ok": False, "error": "message_not_found"}
        if method == "conversations.list":
            return self._conversations_list(params)
        if method == "views.publish":
            view = _json_field(params.get("view"))
            if not isinstance(view, dict) or view.get("type") != "home" or not params.get("user_id"):
                return {"ok": False, "error": "invalid_arguments"}
            errors = validate_blocks(view.get("blocks", []), VIEW_BLOCKS)
            if errors:
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
            self.views.setdefault(str(params["user_id"]), []).append(view)
            return {"ok": True, "view": {"id": "V" + uuid.uuid4().hex[:8].upper(), **view}}
        if method in ("views.open", "conversations.open", "usergroups.users.list"):
            return self._interactive(method, params)
        if method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            return self._files(method, params)
        return {"ok": False, "error": "unknown_method"}

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = [t.strip() for t in str(params.get("types") or "public_channel").split(",") if t.strip()]
        for kind in types:
            if kind not in ("public_channel", "private_channel", "mpim", "im"):
                return {"ok": False, "error": "invalid_types"}
            needed = CHANNEL_TYPES.get(kind)
            if needed and self.scopes is not None and needed not in self.scopes:
                return {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": ",".join(sorted(self.scopes)),
                }
        try:
            limit = max(1, min(int(params.get("limit") or 100), LIST_LIMIT))
            cursor = str(params.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor" if params.get("cursor") else "invalid_limit"}
        archived_too = str(params.get("exclude_archived") or "false").lower() not in ("true", "1")
        listed = [
            c
            for c in sorted(self.channels.values(), key=lambda c: c.id)
            if ("private_channel" if c.private else "public_channel") in types
            and (archived_too or not c.archived)
            and (c.member or not c.private)
        ]
        end = start + limit
        next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(listed) else ""
        return {
            "ok": True,
            "channels": [c.to_json() for c in listed[start:end]],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _interactive(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The methods buttons and modals need (called with the lock held)."""
        if method == "conversations.open":
            users = str(params.get("users") or "")
            if not users or "," in users:
                return {"ok": False, "error": "users_list_not_supplied" if not users else "not_implemented"}
            channel = self.dms.setdefault(users, "D" + users.lstrip("UW")[:10])
            return {"ok": True, "channel": {"id": channel}}
        if method == "usergroups.users.list":
            group = str(params.get("usergroup") or "")
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.usergroups[group])}
        trigger = str(params.get("trigger_id") or "")
        issued = self.triggers.get(trigger)
        if issued is None:
            return {
                "ok": False,
                "error": "invalid_trigger_id" if trigger not in self._used_triggers else "exchanged_trigger_id",
            }
        del self.triggers[trigger]
        self._used_triggers.add(trigger)
        if time.monotonic() - issued > TRIGGER_SECONDS:
            return {"ok": False, "error": "expired_trigger_id"}
        view = _json_field(params.get("view"))
        errors = modal_errors(view)
        if errors:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
        opened = {"id": "V" + uuid.uuid4().hex[:8].upper(), **view}
        self.opened.append(opened)
        return {"ok": True, "view": opened}

    def _respond(self, rid: str, raw: str) -> tuple[int, str, dict[str, str]]:
        payload = json.loads(raw or "{}")
        call = Call("response_url", payload, url_id=rid)
        with self._cond:
            try:
                answer = self._accept_response(call)
            finally:
                self._cond.notify_all()
        if answer[0] == 200:
            self._tell(call)
        return answer

    def _accept_response(self, call: Call) -> tuple[int, str, dict[str, str]]:
        rid, payload = call.url_id or "", call.params
        self.calls.append(call)
        entry = self.response_urls.get(rid)
        if entry is None and self.any_response_url:
            entry = self.response_urls[rid] = ResponseUrl(rid)
        if entry is None:
            return 404, "no_such_url", {}
        if len(entry.posts) >= 5:
            return 404, "used_url", {}
        if payload.get("delete_original"):
            entry.posts.append(payload)
            entry.deleted, entry.current = True, None
            return 200, "ok", {}
        blocks = payload.get("blocks")
        if blocks is None and not payload.get("text"):
            return 400, "no_text", {}
        if blocks is not None and validate_blocks(blocks, MESSAGE_BLOCKS):
            self.rejected.append(("response_url", validate_blocks(blocks, MESSAGE_BLOCKS)))
            return 400, "invalid_blocks", {}
        entry.posts.append(payload)
        if payload.get("replace_original") or entry.current is None:
            entry.current = payload
        return 200, "ok", {}


def modal_errors(view: Any) -> list[str]:
    """A modal's limits (modal-views page, SLACK.md section 5), as Slack-style messages."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        return ["[ERROR] must be a modal view [json-pointer:/view/type]"]
    errors = [
        e.replace("[json-pointer:/", "[json-pointer:/view/")
        for e in validate_blocks(view.get("blocks", []), VIEW_BLOCKS)
    ]
    for key in ("title", "submit", "close"):
        obj = view.get(key)
        if obj is None and key != "title":
            continue
        if (
            not isinstance(obj, dict)
            or obj.get("type") != "plain_text"
            or not 0 < len(str(obj.get("text", ""))) <= MODAL_TEXT
        ):
            errors.append(f"[ERROR] must be plain_text of at most {MODAL_TEXT} characters [json-pointer:/view/{key}]")
    if len(str(view.get("private_metadata", ""))) > METADATA:
        errors.append(f"[ERROR] must be less than {METADATA + 1} characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > CALLBACK_ID:
        errors.append(f"[ERROR] must be less than {CALLBACK_ID + 1} characters [json-pointer:/view/callback_id]")
    return errors


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(raw).items()}


def _json_field(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
