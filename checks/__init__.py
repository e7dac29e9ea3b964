"""Diagnostics. ``CHECKS`` is the explicit, ordered table the runner runs (all at once, the
``final`` ones after the rest)."""

from __future__ import annotations

from checks.base import Check
from checks.connection import DESTINATION_CONNECTION, SOURCE_CONNECTION
from checks.contacts import CONTACTS
from checks.jobapps import JOBAPPS
from checks.mappings import MAPPINGS
from checks.middleware import MIDDLEWARE
from checks.plan import PLAN
from checks.platform import RATE
from checks.settings import SETTINGS
from checks.skus import SKUS
from checks.sync_state import SYNC_STATE
from checks.tokens import TOKENS

CHECKS: tuple[Check, ...] = (
    SOURCE_CONNECTION,
    DESTINATION_CONNECTION,
    TOKENS,
    PLAN,
    SETTINGS,
    MAPPINGS,
    CONTACTS,
    SKUS,
    SYNC_STATE,
    MIDDLEWARE,
    JOBAPPS,
    RATE,
)

__all__ = ["CHECKS", "Check"]
