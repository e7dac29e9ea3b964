"""``Check.cheap`` marks the checks the monitoring sweep runs every 15 minutes (DESIGN.md,
Schedules; the scheduler is still to come): they must judge a connection from its probe, its
organisation and the run's rate headers alone, never from invoice, contact or item lists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checks import CHECKS
from checks.context import MIDDLEWARE_CAPABILITIES, RESOURCE_CAPABILITIES, MiddlewareSide, RunContext, SideData
from config.middleware import MiddlewareConfig
from providers.errors import Unsupported
from providers.records import ConnectionInfo, OrgInfo, RateStatus
from tests.checks.contexts import config, ctx, side
from tests.checks.records import NOW, oauth

EVERYTHING = frozenset(RESOURCE_CAPABILITIES.values())


def light(which: str, source: str = "hubspot") -> SideData:
    """A side that claims every capability but gives only what a cheap check may read: reading
    anything else raises ``Unsupported``."""
    cfg = config(source, "xero")
    return side(
        which,
        cfg,
        credentials=oauth(refresh_expires_at=NOW + timedelta(days=50)),
        capabilities=EVERYTHING,
        probe=ConnectionInfo(tenant_id="t-1"),
        org=OrgInfo(tenant_id="t-1", name="Acme Ltd", features_known=True),
        rate=RateStatus(),
    )


CHEAP = [check for check in CHECKS if check.cheap]


@pytest.mark.parametrize("check", CHEAP, ids=[c.name for c in CHEAP])
def test_cheap_checks_read_no_lists(check) -> None:
    check(ctx(config("hubspot", "xero"), light("source"), light("destination")))


def with_middleware() -> RunContext:
    """The light sides, a job app as the source (for the job-app checks) and a Make scenario in
    between that gives nothing either."""
    middle = MiddlewareConfig(system="make", scenario_id="1", organization_id="2", zone="eu1.make.com")
    base = ctx(config("aroflo", "xero"), light("source", "aroflo"), light("destination", "aroflo"))
    side = MiddlewareSide.preloaded(
        "middleware", middle.side_config(), capabilities=frozenset(MIDDLEWARE_CAPABILITIES.values())
    )
    return RunContext(base.integration, base.source, base.destination, now=NOW, middleware=side)


def test_the_others_do_need_the_lists() -> None:
    costly = [check for check in CHECKS if not check.cheap]
    assert CHEAP and costly
    for check in costly:
        with pytest.raises(Unsupported):
            check(with_middleware())
