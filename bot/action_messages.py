"""Where an action shows in Slack, and keeping it up to date.

Two messages follow an action: the approval request (in ``slack.approvals_channel``) and the
requester's message (a reply in the thread of the message they clicked in, or a direct message
when that was ephemeral or a slash command: only a message posted with ``chat.postMessage``
can be edited later, SLACK.md section 2). Where each went is stored with the action
(``ActionService.set_surface``), so any process can edit them later.

Edits and thread replies go through one lane (a single thread, in order) so the run they
describe never waits for Slack, and a slow Slack never delays the first push: the approval's
"approved, running" edit and the run start at the same moment. A bulk run's progress edits
the approval message at most once a second (:class:`Throttle`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from actions.engine import Progress
from actions.states import ActionState
from bot.blocks.approvals import approval_message, requester_message
from bot.blocks.common import Message
from bot.blocks.ids import Ids
from service.action_views import ActionView
from service.actions import ActionService

logger = logging.getLogger(__name__)

APPROVAL, REQUESTER = "approval", "requester"  # ActionView.surface keys
PROGRESS_INTERVAL = 1.0  # seconds between progress edits of one message


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the person asked: a channel message to reply under, or nowhere editable (None)."""

    channel: str | None = None
    thread_ts: str | None = None


class Throttle:
    """True at most once per ``interval`` seconds."""

    def __init__(self, interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def ready(self) -> bool:
        now = self.clock()
        with self._lock:
            if self._last is not None and now - self._last < self.interval:
                return False
            self._last = now
            return True


class ActionMessages:
    def __init__(self, client: WebClient, ids: Ids, actions: ActionService) -> None:
        self.client = client
        self.ids = ids
        self.actions = actions
        self._lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-actions")
        self._posting = threading.Lock()

    # -- posting a request (on the caller's thread: the person waits for it) ------------------

    def post_request(self, view: ActionView, channel: str, origin: Origin, user: str | None) -> tuple[ActionView, bool]:
        """Post the approval request and the requester's message, once per action (a second
        click on the same finding finds them posted). (the view, True when already posted).
        ``user`` None: nobody asked (the nightly reconciliation), so no requester message."""
        with self._posting:
            view = self.actions.get(view.id)
            if APPROVAL in view.surface:
                return view, True
            posted = self.client.chat_postMessage(channel=channel, **approval_message(view, self.ids).payload())
            where = {"channel": str(posted.get("channel") or channel), "ts": str(posted["ts"])}
            self.actions.set_surface(view.id, APPROVAL, where)
            mine = self._post_requester(view, channel, origin, user) if user else None
            if mine is not None:
                self.actions.set_surface(view.id, REQUESTER, mine)
            return self.actions.get(view.id), False

    def _post_requester(self, view: ActionView, approvals: str, origin: Origin, user: str) -> dict[str, str] | None:
        message = requester_message(view, approvals)
        if origin.channel and origin.thread_ts:
            try:
                posted = self.client.chat_postMessage(
                    channel=origin.channel, thread_ts=origin.thread_ts, **message.payload()
                )
                return {"channel": str(posted.get("channel") or origin.channel), "ts": str(posted["ts"])}
            except SlackApiError as e:
                # not in the channel, the message gone: the requester still hears, by DM
                logger.info("request %s: no reply in %s (%s); by DM", view.id, origin.channel, e.response.get("error"))
        return self.dm(user, message)

    # -- direct messages and ephemeral notes -------------------------------------------------

    def dm(self, user: str, message: Message) -> dict[str, str] | None:
        """Post ``message`` to ``user``'s DM with the bot (conversations.open, then post)."""
        try:
            opened = self.client.conversations_open(users=user)
            channel = str(opened["channel"]["id"])
            posted = self.client.chat_postMessage(channel=channel, **message.payload())
            return {"channel": channel, "ts": str(posted["ts"])}
        except (SlackApiError, SlackClientError) as e:
            logger.warning("could not send %s a direct message: %s", user, _error(e))
            return None

    def tell(self, user: str, channel: str | None, message: Message) -> None:
        """An ephemeral note for ``user`` in ``channel`` (a DM when there is no channel or the
        note cannot go there): for answers that have no response_url, e.g. a modal's."""
        if channel:
            try:
                self.client.chat_postEphemeral(channel=channel, user=user, **message.payload())
                return
            except (SlackApiError, SlackClientError) as e:
                logger.info("ephemeral note to %s in %s failed: %s; by DM", user, channel, _error(e))
        self.dm(user, message)

    # -- keeping both messages up to date (on the lane) ----------------------------------------

    def refresh(self, view: ActionView, progress: Progress | None = None) -> None:
        """Edit the approval message and the requester's to show ``view`` as it stands."""
        self._lane.submit(self._refresh, view, progress)

    def _refresh(self, view: ActionView, progress: Progress | None) -> None:
        approvals = view.surface.get(APPROVAL) or {}
        mine = view.surface.get(REQUESTER) or {}
        if approvals:
            self._update(approvals, approval_message(view, self.ids, progress=progress), view.id)
        if mine:
            self._update(mine, requester_message(view, approvals.get("channel"), progress=progress), view.id)

    def reply(self, view: ActionView, message: Message) -> None:
        """A reply in the approval message's thread."""
        self._lane.submit(self._reply, view, message)

    def _reply(self, view: ActionView, message: Message) -> None:
        where = view.surface.get(APPROVAL) or {}
        if not where:
            return
        try:
            self.client.chat_postMessage(channel=where["channel"], thread_ts=where["ts"], **message.payload())
        except (SlackApiError, SlackClientError) as e:
            logger.warning("request %s: thread reply failed: %s", view.id, _error(e))

    def _update(self, where: dict[str, Any], message: Message, action_id: int) -> None:
        try:
            self.client.chat_update(channel=where["channel"], ts=where["ts"], **message.payload())
        except (SlackApiError, SlackClientError) as e:
            logger.warning("request %s: editing its message in %s failed: %s", action_id, where["channel"], _error(e))

    def progress(self, view: ActionView, throttle: Throttle | None = None) -> Callable[[Progress], None]:
        """A progress callback for a bulk run: edits at most once a second, off the run."""
        running = replace(view, state=ActionState.RUNNING.value)
        gate = throttle or Throttle()

        def report(progress: Progress) -> None:
            if progress.total > 1 and progress.phase != "finished" and gate.ready():
                self.refresh(running, progress)

        return report

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until what was queued has been sent (True) or ``timeout`` passed."""
        done = threading.Event()
        self._lane.submit(done.set)
        return done.wait(timeout)

    def shutdown(self) -> None:
        self._lane.shutdown(wait=True, cancel_futures=False)


def _error(e: Exception) -> str:
    if isinstance(e, SlackApiError):
        return str(e.response.get("error"))
    return type(e).__name__
