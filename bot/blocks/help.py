"""Short messages of the command itself: usage, unknown integration, refusal, progress, crash.

Sentences are module constants; anything the user typed is escaped before it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import grammar
from bot.blocks.common import Message, code, context, escape, section, truncate

INTRO = "*Sync Doctor* finds, explains and fixes broken invoice syncs."
NOT_UNDERSTOOD = ":thinking_face: I did not understand `{text}`: {problem}."
UNKNOWN = "No integration named {name}."
DID_YOU_MEAN = " Did you mean {names}?"
SEE_LIST = "`/sync-check list` shows every integration."
PROGRESS_CHECK = (
    ":hourglass_flowing_sand: Checking *{name}* ({source} → {destination})… results will replace this message."
)
PROGRESS_TRACE = ":hourglass_flowing_sand: Tracing invoice {number} through *{name}*…"
PROGRESS_RESYNC = ":hourglass_flowing_sand: Planning a re-sync of {count} for *{name}* from fresh data…"
CRASHED = (
    ":warning: Sync Doctor hit an internal error and could not finish{what}. "
    "It has been logged; quote ref `{ref}` to whoever runs Sync Doctor."
)
NO_INTEGRATIONS = "No integrations are configured yet: add one to the YAML file (`SYNC_DOCTOR_CONFIG`)."


def help_message(*, problem: str | None = None, text: str | None = None, integrations: Sequence[str] = ()) -> Message:
    """Usage, generated from the grammar table; with what was not understood, if anything."""
    blocks = []
    if problem is not None:
        blocks.append(section(NOT_UNDERSTOOD.format(text=escape(truncate(text or "", 100)), problem=escape(problem))))
    lines = [f"`{escape(form)}` — {escape(help_text)}" for form, help_text in grammar.usage_lines()]
    blocks.append(section(INTRO + "\n" + "\n".join(lines)))
    notes = [f"Also accepted: {escape(grammar.aliases_text())}"]
    if integrations:
        shown = ", ".join(code(n) for n in list(integrations)[:20])
        more = f" and {len(integrations) - 20} more" if len(integrations) > 20 else ""
        notes.insert(0, f"Integrations: {shown}{more}")
    blocks.append(context(*notes))
    fallback = "Sync Doctor: I did not understand that. " if problem else "Sync Doctor: "
    return Message(fallback + "; ".join(f"{f} ({h})" for f, h in grammar.usage_lines()), blocks)


def unknown_integration(name: str, suggestions: Sequence[str]) -> Message:
    text = UNKNOWN.format(name=code(name))
    plain_text = UNKNOWN.format(name=name)
    if suggestions:
        text += DID_YOU_MEAN.format(names=" or ".join(code(s) for s in suggestions))
        plain_text += DID_YOU_MEAN.format(names=" or ".join(suggestions))
    return Message(plain_text, [section(text), context(SEE_LIST)])


def refused(reason: str) -> Message:
    return Message(reason, [section(f":no_entry: {reason}")])


def progress_check(name: str, source: str, destination: str) -> Message:
    text = PROGRESS_CHECK.format(name=escape(name), source=escape(source), destination=escape(destination))
    return Message(f"Checking {name}…", [section(text)])


def progress_trace(name: str, number: str) -> Message:
    text = PROGRESS_TRACE.format(name=escape(name), number=code(number))
    return Message(f"Tracing invoice {number} through {name}…", [section(text)])


def progress_resync(name: str, count: int) -> Message:
    what = "1 invoice" if count == 1 else f"{count} invoices"
    return Message(
        f"Planning a re-sync of {what} for {name}…", [section(PROGRESS_RESYNC.format(count=what, name=escape(name)))]
    )


def crashed(ref: str, what: str | None = None) -> Message:
    text = CRASHED.format(ref=escape(ref), what=f" {escape(what)}" if what else "")
    return Message(f"Sync Doctor hit an internal error (ref {ref}).", [section(text)])


def no_integrations() -> Message:
    return Message(NO_INTEGRATIONS, [section(NO_INTEGRATIONS)])
