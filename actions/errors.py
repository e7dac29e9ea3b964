"""Errors of the actions, apart from the modules that raise them: the command line and the bot
catch them without importing what running an action needs (httpx, the store).

Every refusal is an :class:`ActionRefused` whose message is phrased for the person who asked
(surfaces show it as is) and whose ``code`` is stable (tests and the bot's wording key on it)::

    ActionRefused
    ├── UnknownAction       no action with that id
    ├── UnknownKind         not one of resync, create_item, create_contact, reauthorise
    ├── BadRequest          parameters missing or malformed (no numbers, an unknown side)
    ├── TooMany             more invoices than one action may carry (500)
    ├── UnknownInvoice      numbers the source does not have (with close numbers it does)
    ├── PlanRefused         the plan cannot succeed: the blocking findings, per invoice
    ├── NotApprover         the user is not an admin (the caller decides who is)
    ├── SelfApproval        the requester may not approve their own request
    ├── AlreadyDecided      approved, denied or finished already (a second click)
    ├── Expired             the request's time to be decided ran out
    ├── NotRunnable         not approved, or already running / finished
    └── Interrupted         the run stopped part way (database gone); a resume finishes it
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actions.plans import Blocker, Plan


class ConnectError(ValueError):
    """A connect request that cannot go ahead, phrased for the user."""


class WrongOrganisation(ConnectError):
    """The consent reached another organisation / company than the configured one."""


class ActionRefused(Exception):
    """An action request, decision or run that cannot go ahead, phrased for the user."""

    code = "refused"

    def __init__(self, message: str, *, action_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.action_id = action_id


class UnknownAction(ActionRefused):
    code = "unknown_action"


class UnknownKind(ActionRefused):
    code = "unknown_kind"


class BadRequest(ActionRefused):
    code = "bad_request"


class TooMany(ActionRefused):
    code = "too_many"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"{count} invoices in one request; an action carries at most {limit}: split them into several requests"
        )
        self.count = count
        self.limit = limit


class UnknownInvoice(ActionRefused):
    code = "unknown_invoice"

    def __init__(self, source: str, missing: Sequence[str], suggestions: Mapping[str, Sequence[str]]) -> None:
        parts = []
        for number in missing:
            close = suggestions.get(number) or ()
            parts.append(f"{number} (did you mean {', '.join(close)}?)" if close else number)
        super().__init__(f"{source} has no invoice numbered {', '.join(parts)}: check the numbers and ask again")
        self.missing = tuple(missing)
        self.suggestions = {k: tuple(v) for k, v in suggestions.items()}


class PlanRefused(ActionRefused):
    """Nothing in the plan can succeed; ``blockers`` say why, invoice by invoice (or item,
    contact, connection), each with the finding code that explains it."""

    code = "plan_refused"

    def __init__(self, message: str, blockers: Sequence[tuple[str, Blocker]], plan: Plan | None = None) -> None:
        super().__init__(message)
        self.blockers = tuple(blockers)
        self.plan = plan

    @property
    def finding(self) -> Blocker | None:
        """The first blocking finding (most requests are about one invoice)."""
        return self.blockers[0][1] if self.blockers else None


class NotApprover(ActionRefused):
    code = "not_approver"


class SelfApproval(ActionRefused):
    code = "self_approval"


class AlreadyDecided(ActionRefused):
    code = "already_decided"

    def __init__(self, message: str, *, action_id: int, state: str, decided_by: str | None) -> None:
        super().__init__(message, action_id=action_id)
        self.state = state
        self.decided_by = decided_by


class Expired(ActionRefused):
    code = "expired"


class NotRunnable(ActionRefused):
    code = "not_runnable"

    def __init__(self, message: str, *, action_id: int, state: str) -> None:
        super().__init__(message, action_id=action_id)
        self.state = state


class Interrupted(ActionRefused):
    code = "interrupted"
