"""The approval keys of the integrations file: ``slack.allow_self_approval``,
``slack.approval_ttl_hours`` (default 24) and ``slack.approvals_channel``."""

from __future__ import annotations

import pytest

from config.integrations import ConfigError, parse_config

BASE = {"integrations": {"acme": {"source": {"system": "hubspot"}, "destination": {"system": "xero"}}}}


def test_defaults() -> None:
    slack = parse_config(BASE, source="sync-doctor.yml").slack
    assert (slack.allow_self_approval, slack.approval_ttl_hours, slack.approvals_channel) == (False, 24, None)


def test_values_are_read() -> None:
    data = {**BASE, "slack": {"allow_self_approval": True, "approval_ttl_hours": 4, "approvals_channel": "C0ADMINS"}}
    slack = parse_config(data, source="sync-doctor.yml").slack
    assert (slack.allow_self_approval, slack.approval_ttl_hours, slack.approvals_channel) == (True, 4, "C0ADMINS")


def test_a_wrong_ttl_is_named() -> None:
    with pytest.raises(
        ConfigError, match=r"sync-doctor.yml: slack\.approval_ttl_hours: must be a whole number >= 1, not 0"
    ):
        parse_config({**BASE, "slack": {"approval_ttl_hours": 0}}, source="sync-doctor.yml")
