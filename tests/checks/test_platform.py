"""Rate-limit headroom from RateStatus records."""

from __future__ import annotations

from checks.findings import Severity
from checks.platform import check_rate
from providers.records import RateStatus
from tests.checks.contexts import config, ctx, side
from tests.checks.records import oauth


def run(src_rate, dst_rate):
    cfg = config("hubspot", "xero")
    src = side("source", cfg, credentials=oauth(), rate=src_rate)
    dst = side("destination", cfg, credentials=oauth(), rate=dst_rate)
    return list(check_rate(ctx(cfg, src, dst)))


def test_plenty_of_headroom_is_quiet():
    assert run(RateStatus(), RateStatus(day_remaining=4200, day_limit=5000, minute_remaining=58)) == []


def test_429s_this_run():
    [f] = run(RateStatus(), RateStatus(day_remaining=4000, day_limit=5000, throttled=3, last_problem="minute"))
    assert f.code == "rate.limited"
    assert f.severity is Severity.WARN
    assert f.subject == "xero"
    assert f.evidence == {
        "system": "xero",
        "side": "destination",
        "display_name": "Xero",
        "reasons": ["throttled"],
        "throttled": 3,
        "day_remaining": 4000,
        "day_limit": 5000,
        "day_threshold": 500,
        "minute_remaining": None,
        "last_problem": "minute",
        "exhausted": False,
    }


def test_day_quota_under_ten_percent():
    [f] = run(RateStatus(), RateStatus(day_remaining=499, day_limit=5000))
    assert f.evidence["reasons"] == ["day_quota"]
    assert run(RateStatus(), RateStatus(day_remaining=500, day_limit=5000)) == []


def test_unknown_limit_uses_the_floor():
    [f] = run(RateStatus(day_remaining=40), RateStatus())
    assert f.subject == "hubspot"
    assert f.evidence["day_threshold"] == 100


def test_exhausted_quota_fails():
    [f] = run(RateStatus(), RateStatus(day_remaining=0, day_limit=5000, throttled=1, last_problem="day"))
    assert f.severity is Severity.FAIL
    assert f.evidence["reasons"] == ["throttled", "day_quota"]
    assert f.evidence["exhausted"] is True
