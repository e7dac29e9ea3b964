"""Who may approve: slack.admins user ids, and user groups expanded with usergroups.users.list
against the fake Web API, cached at most five minutes (a clock the test moves)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.approvers import Approvers
from config.integrations import SlackConfig
from sandbox.slack import FakeSlack
from tests.bot.conftest import BOT_TOKEN


def test_ids_and_groups_with_a_five_minute_cache(fake_slack: FakeSlack) -> None:
    fake_slack.usergroups["S0OPS"] = ["U0GROUPIE"]
    now = [1000.0]
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    approvers = Approvers(SlackConfig(admins=("U0BOSS", "S0OPS", "S0GONE")), client, clock=lambda: now[0])
    assert approvers.is_admin("U0BOSS") and fake_slack.calls_to("usergroups.users.list") == []
    assert approvers.known("U0GROUPIE") is None  # the groups were never expanded: unknown
    assert approvers.is_admin("U0GROUPIE")
    assert not approvers.is_admin("U0STRANGER")
    # S0OPS read once (cached); S0GONE fails (no_such_subteam) and is asked again, never cached
    calls = [c.params["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")]
    assert calls.count("S0OPS") == 1 and calls.count("S0GONE") == 1
    assert approvers.known("U0GROUPIE") is True

    fake_slack.usergroups["S0OPS"] = []  # removed from the group
    now[0] += 299
    assert approvers.is_admin("U0GROUPIE")  # still within the five minutes
    now[0] += 2
    assert not approvers.is_admin("U0GROUPIE")  # re-read after them
    assert [c.params["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")].count("S0OPS") == 2
