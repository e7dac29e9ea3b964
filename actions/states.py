"""The action state machine, in one place.

    requested ──> approved ──> running ──> succeeded
        │                         │   ├──> partly_succeeded   (some steps landed, some failed)
        ├──> denied               │   └──> failed
        └──> expired              └── (a crash leaves it running: a resume finishes it)

A step (one invoice, item, contact or consent link) goes::

    pending ──> sending ──> succeeded   (written now, or by an earlier attempt found on look-up)
                    │  ├──> adopted     (already in the destination before this action wrote it)
                    │  ├──> failed      (permanent error, or transient errors past the retries)
                    └──────> skipped    (what it needs failed: a contact that could not be created)

``sending`` is committed before any request leaves, so a step found ``sending`` after a crash
may or may not have landed; the engine looks it up before sending again.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

MAX_INVOICES = 500  # per action: a bigger re-sync is several actions


class ActionKind(StrEnum):
    RESYNC = "resync"
    CREATE_ITEM = "create_item"
    CREATE_CONTACT = "create_contact"
    REAUTHORISE = "reauthorise"


class ActionState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTLY_SUCCEEDED = "partly_succeeded"


class StepState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    ADOPTED = "adopted"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepKind(StrEnum):
    INVOICE = "invoice"
    ITEM = "item"
    CONTACT = "contact"
    LINK = "link"


TRANSITIONS: dict[ActionState, frozenset[ActionState]] = {
    ActionState.REQUESTED: frozenset({ActionState.APPROVED, ActionState.DENIED, ActionState.EXPIRED}),
    ActionState.APPROVED: frozenset({ActionState.RUNNING}),
    ActionState.RUNNING: frozenset({ActionState.SUCCEEDED, ActionState.FAILED, ActionState.PARTLY_SUCCEEDED}),
}
FINISHED = frozenset({ActionState.SUCCEEDED, ActionState.FAILED, ActionState.PARTLY_SUCCEEDED})
DECIDED = frozenset({ActionState.APPROVED, ActionState.DENIED, ActionState.EXPIRED, ActionState.RUNNING, *FINISHED})
LANDED = frozenset({StepState.SUCCEEDED, StepState.ADOPTED})
STEP_DONE = frozenset({*LANDED, StepState.FAILED, StepState.SKIPPED})


class InvalidTransition(ValueError):
    """A transition the state machine does not have: a bug, never a user's mistake."""


def check_transition(before: ActionState | str, after: ActionState | str) -> None:
    if ActionState(after) not in TRANSITIONS.get(ActionState(before), frozenset()):
        raise InvalidTransition(f"an action cannot go from {before} to {after}")


def outcome(steps: Iterable[StepState | str]) -> ActionState:
    """The finished state of an action from its steps' states."""
    states = [StepState(s) for s in steps]
    landed = sum(1 for s in states if s in LANDED)
    if states and landed == len(states):
        return ActionState.SUCCEEDED
    return ActionState.PARTLY_SUCCEEDED if landed else ActionState.FAILED
