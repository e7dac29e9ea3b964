"""Who may approve: ``slack.admins`` user ids, and the members of the user groups it lists.

Checked on the server at every click (SLACK.md section 9: membership changes; the clicker is
``body["user"]["id"]``). A group's members come from ``usergroups.users.list`` (Tier 2, 20+ a
minute), kept at most ``ttl`` seconds (5 minutes) so a burst of clicks costs one call per group,
and someone removed from a group loses approval within those minutes. A group Slack cannot
expand (``no_such_subteam``, ``plan_upgrade_required``, Slack unreachable) approves nobody,
and is asked again at the next click rather than remembered.

:meth:`Approvers.known` answers from the configuration and the cache alone (no Web API call),
for the one place that must answer before calling Slack: the Deny click, whose modal must open
within the trigger's 3 seconds (SLACK.md section 3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from config.integrations import SlackConfig

logger = logging.getLogger(__name__)

GROUP_TTL = 300.0  # seconds: "cached at most 5 minutes"


def is_group(entry: str) -> bool:
    """User-group ids start with S (``S0614TZR7``); user ids with U or W."""
    return entry.startswith("S")


class Approvers:
    def __init__(
        self,
        config: SlackConfig,
        client: WebClient,
        *,
        ttl: float = GROUP_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = frozenset(a for a in config.admins if not is_group(a))
        self.groups = tuple(a for a in config.admins if is_group(a))
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._members: dict[str, tuple[float, frozenset[str]]] = {}  # group -> (fetched at, members)

    def is_admin(self, user: str) -> bool:
        """May ``user`` approve? May call ``usergroups.users.list`` (never before ``ack()``)."""
        if user in self.users:
            return True
        return any(user in self.members(group) for group in self.groups)

    def known(self, user: str) -> bool | None:
        """The answer without calling Slack, or None when a group must be expanded first."""
        if user in self.users:
            return True
        unknown = False
        for group in self.groups:
            cached = self._cached(group)
            if cached is None:
                unknown = True
            elif user in cached:
                return True
        return None if unknown else False

    def members(self, group: str) -> frozenset[str]:
        cached = self._cached(group)
        if cached is not None:
            return cached
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as e:
            logger.warning("user group %s in slack.admins cannot be expanded: %s", group, e.response.get("error"))
            return frozenset()
        except SlackClientError as e:
            logger.warning("user group %s: Slack unreachable (%s); nobody approves through it now", group, e)
            return frozenset()
        members = frozenset(str(u) for u in response.get("users") or ())
        with self._lock:
            self._members[group] = (self.clock(), members)
        return members

    def _cached(self, group: str) -> frozenset[str] | None:
        with self._lock:
            found = self._members.get(group)
        if found is None or self.clock() - found[0] >= self.ttl:
            return None
        return found[1]
