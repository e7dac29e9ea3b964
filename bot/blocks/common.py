"""Block Kit helpers shared by every builder: pure functions returning dicts.

Every helper truncates to Slack's documented limits (SLACK.md section 5) so a builder can never
produce a payload Slack answers with ``invalid_blocks``; text from users and providers goes
through :func:`escape` before it reaches a ``mrkdwn`` object. Builders never call Slack, the
database or a provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks.findings import Severity
from common.money import amounts_text
from common.mrkdwn import escape
from config.logging import REDACTED, redact

Block = dict[str, Any]

# Limits, each from the Block Kit reference page cited in SLACK.md section 5.
MAX_MESSAGE_BLOCKS = 50  # https://docs.slack.dev/reference/block-kit/blocks
MAX_VIEW_BLOCKS = 100  # modals and the Home tab, same page
SECTION_TEXT = 3000  # section-block page
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150  # header-block page (plain_text only)
CONTEXT_ELEMENTS = 10  # context-block page
TEXT_OBJECT = 3000  # a context element's text: a text object is capped like a section's
MESSAGE_TEXT = 4000  # chat.postMessage: "keep <= 4000", truncated beyond 40,000
# Not a documented limit: a budget of characters per message so a page of long remediation
# texts stays well below the (undocumented) total payload size Slack accepts.
PAGE_CHAR_BUDGET = 12000

ELLIPSIS = "…"

SEVERITY_ICON = {
    Severity.OK: ":white_check_mark:",
    Severity.WARN: ":large_yellow_circle:",
    Severity.FAIL: ":red_circle:",
    Severity.ERROR: ":warning:",
}

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")  # a cut through "&amp;" / "&lt;" / "&gt;"
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|api_?key|authorization|credential)")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut.

    Never leaves half an HTML entity (``&am``), which Slack would show literally."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    cut = _ENTITY_TAIL.sub("", cut)
    if cut.count("```") % 2:  # an unclosed code block swallows the rest of the message
        cut = cut[: cut.rfind("```")]
    return cut.rstrip() + ELLIPSIS


_MENTION = re.compile(r"<(![a-z^]+[^>]*|@[UW][A-Z0-9]+[^>]*|#C[A-Z0-9]+[^>]*)>")


def defuse_mentions(text: str) -> str:
    """Mrkdwn we trust (rendered remediation) minus broadcasts and mentions: a value that slipped
    through unescaped must not ping ``@channel`` or a person. Links stay."""
    return _MENTION.sub(lambda m: "&lt;" + m.group(1) + "&gt;", text)


def safe_text(value: Any) -> str:
    """A provider value made safe to show: redacted if it looks like a credential, escaped."""
    return escape(redact(str(value)))


def mrkdwn(text: str, limit: int = TEXT_OBJECT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def plain(text: str, limit: int = TEXT_OBJECT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def section(text: str, *, fields: Sequence[str] = ()) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text, SECTION_TEXT)}
    if fields:
        block["fields"] = [mrkdwn(f, FIELD_TEXT) for f in list(fields)[:MAX_FIELDS]]
    return block


def fields_section(fields: Sequence[str], text: str | None = None) -> Block:
    block: Block = {"type": "section", "fields": [mrkdwn(f, FIELD_TEXT) for f in list(fields)[:MAX_FIELDS]]}
    if text:
        block["text"] = mrkdwn(text, SECTION_TEXT)
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def context(*texts: str) -> Block:
    items = [t for t in texts if t][:CONTEXT_ELEMENTS]
    return {"type": "context", "elements": [mrkdwn(t, TEXT_OBJECT) for t in items or [" "]]}


def divider() -> Block:
    return {"type": "divider"}


def code(value: Any) -> str:
    """A value shown in a code span (escaped; empty values shown as a dash)."""
    text = safe_text(value)
    return f"`{text}`" if text else "—"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def join_limited(items: Sequence[str], limit: int = 5, sep: str = ", ") -> str:
    """At most ``limit`` items, then "and N more"."""
    shown = list(items[:limit])
    rest = len(items) - len(shown)
    text = sep.join(shown)
    return f"{text}{sep}and {rest} more" if rest > 0 else text


def money_text(amounts: Mapping[str, Any]) -> str:
    """``{"NZD": "1234.5"}`` -> ``NZD 1,234.50``, escaped for mrkdwn (never summed across currencies)."""
    return escape(amounts_text(amounts))


def evidence_lines(evidence: Mapping[str, Any], *, max_items: int = 5, max_keys: int = 8) -> list[str]:
    """Evidence as ``key: value`` lines; lists shortened, credential-looking keys redacted."""
    lines: list[str] = []
    for key, value in list(evidence.items())[:max_keys]:
        if key == "run_ref" or value is None or value == "" or value == [] or value == {}:
            continue
        label = escape(str(key).replace("_", " "))
        if _SECRET_KEY.search(str(key)):
            lines.append(f"{label}: {REDACTED}")
            continue
        lines.append(f"{label}: {_value_text(value, max_items)}")
    hidden = len(evidence) - max_keys
    if hidden > 0:
        lines.append(f"… {plural(hidden, 'more detail')}")
    return lines


def _value_text(value: Any, max_items: int) -> str:
    if isinstance(value, Mapping):
        inner = [f"{escape(k)}={_scalar(v)}" for k, v in value.items() if not _SECRET_KEY.search(str(k))]
        return join_limited(inner, max_items)
    if isinstance(value, (list, tuple, set, frozenset)):
        return join_limited([_scalar(v) for v in value], max_items)
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, Mapping):
        # e.g. {"number": "INV-1", "age_days": 3}: the first value names the thing
        parts = [f"{escape(k)} {truncate(safe_text(v), 60)}" for k, v in list(value.items())[:3]]
        return "(" + ", ".join(parts) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"`{truncate(safe_text(value), 200)}`"


@dataclass
class Message:
    """One Slack message: ``text`` is the notification fallback, always sent with blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": truncate(self.text, MESSAGE_TEXT), "blocks": self.blocks}


def block_chars(block: Block) -> int:
    """Rough size of a block's visible text, for the per-message budget."""
    total = 0
    for key in ("text",):
        if isinstance(block.get(key), dict):
            total += len(block[key].get("text", ""))
    for item in block.get("fields", []) or block.get("elements", []) or []:
        if isinstance(item, dict):
            total += len(str(item.get("text", "")))
    return total


def paginate(
    head: Sequence[Block],
    groups: Iterable[Sequence[Block]],
    *,
    tail: Sequence[Block] = (),
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    budget: int = PAGE_CHAR_BUDGET,
) -> list[list[Block]]:
    """Split ``head`` + groups + ``tail`` into pages of whole groups within the limits.

    A group (one finding's blocks) is never split across pages; the first page starts with
    ``head``, the last ends with ``tail`` (or the tail gets a page of its own)."""
    pages: list[list[Block]] = [list(head)]
    chars = sum(block_chars(b) for b in head)
    for group in list(groups) + ([list(tail)] if tail else []):
        group = list(group)[:max_blocks]
        size = sum(block_chars(b) for b in group)
        page = pages[-1]
        if page and (len(page) + len(group) > max_blocks or chars + size > budget):
            pages.append([])
            chars = 0
            page = pages[-1]
        page.extend(group)
        chars += size
    return [p for p in pages if p]


def keep_within(blocks: list[Block], max_blocks: int, overflow_note: str) -> list[Block]:
    """At most ``max_blocks`` blocks; when cut, the last one says what was left out."""
    if len(blocks) <= max_blocks:
        return blocks
    return [*blocks[: max_blocks - 1], context(overflow_note)]


def icon(severity: Severity) -> str:
    return SEVERITY_ICON[severity]


def iter_text(blocks: Iterable[Block]) -> Iterable[str]:
    """Every visible string in ``blocks`` (tests and the secrets check use it)."""
    for block in blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                yield str(block[key].get("text", ""))
        for item in block.get("fields", []) or []:
            yield str(item.get("text", ""))
        for item in block.get("elements", []) or []:
            if isinstance(item, dict):
                text = item.get("text")
                yield str(text.get("text", "")) if isinstance(text, dict) else str(text or "")


__all__ = [
    "Block",
    "Message",
    "context",
    "divider",
    "escape",
    "evidence_lines",
    "header",
    "keep_within",
    "money_text",
    "mrkdwn",
    "paginate",
    "plain",
    "section",
    "truncate",
]
