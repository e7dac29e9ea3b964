"""The ``schedules:`` block (config/schedules.py): defaults, overrides, and mistakes refused
with the key named and exit code 2, whichever command reads the file."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import run
from config.integrations import ConfigError, parse_config

SIDES = {"source": {"system": "hubspot"}, "destination": {"system": "xero"}}


def parsed(top: Any = None, **integration: Any) -> Any:
    data: dict[str, Any] = {"integrations": {"acme": {**SIDES, **integration}, "globex": dict(SIDES)}}
    if top is not None:
        data["schedules"] = top
    return parse_config(data, source="sync-doctor.yml")


def test_every_key_has_a_default() -> None:
    s = parsed().schedules
    assert s.sweep.every == 900 and s.sweep.at is None and s.sweep.enabled and s.sweep.workers == 16
    assert s.reconcile.at == time(2, 0) and s.reconcile.window_days == 7
    assert s.keep_alive.every == 86400
    assert s.digest.at == time(9, 0) and s.digest.minutes_per_diagnosis == 30
    assert s.retention.runs_days == 90 and s.retention.counters_days == 730


def test_top_level_values_and_per_integration_overrides() -> None:
    s = parsed(
        {
            "sweep": {"every": "10s"},
            "reconcile": {"at": "03:15", "window_days": 14},
            "keep_alive": {"every": "2h"},
            "digest": {"at": "08:30", "minutes_per_diagnosis": 45},
            "retention": {"runs_days": 30, "counters_days": 365},
        },
        schedules={"sweep": {"every": "1d"}, "reconcile": {"enabled": False}},
    ).schedules
    assert s.sweep.every == 10 and s.keep_alive.every == 7200
    assert s.reconcile.at == time(3, 15) and s.reconcile.window_days == 14
    assert s.digest.at == time(8, 30) and s.digest.minutes_per_diagnosis == 45
    assert s.retention.runs_days == 30 and s.retention.counters_days == 365
    assert s.for_integration("acme", "sweep").every == 86400
    acme_reconcile = s.for_integration("acme", "reconcile")
    assert not acme_reconcile.enabled and acme_reconcile.window_days == 14  # the rest inherited
    assert s.for_integration("globex", "sweep").every == 10


def test_the_sweep_pool_is_set_at_the_top_level_and_kept_by_overrides() -> None:
    s = parsed({"sweep": {"every": "15m", "workers": 32}}, schedules={"sweep": {"every": "1h"}}).schedules
    assert s.sweep.workers == 32
    assert s.for_integration("acme", "sweep").workers == 32 and s.for_integration("acme", "sweep").every == 3600
    assert parsed({"sweep": {"workers": 1}}).schedules.sweep.workers == 1
    assert parsed({"sweep": {"workers": 64}}).schedules.sweep.workers == 64


@pytest.mark.parametrize(
    ("schedules", "integration", "expected"),
    [
        (
            {"sweep": {"every": "15 mins"}},
            {},
            "schedules.sweep.every: '15 mins' is not an interval like 10s, 15m, 2h, 1d",
        ),
        ({"sweep": {"every": "5s"}}, {}, "schedules.sweep.every: '5s' is too short: the shortest interval is 10s"),
        ({"sweep": {"every": 15}}, {}, "schedules.sweep.every: 15 is not an interval"),
        ({"reconcile": {"at": "25:00"}}, {}, "schedules.reconcile.at: '25:00' is not a time of day HH:MM"),
        ({"reconcile": {"at": 120}}, {}, "quote it"),
        ({"reconcile": {"at": "02:00", "every": "1d"}}, {}, "schedules.reconcile: give either every"),
        ({"reconcile": {"window_days": 0}}, {}, "schedules.reconcile.window_days: must be a whole number >= 1"),
        ({"sweeps": {}}, {}, "unknown key(s) sweeps; allowed: digest, keep_alive, reconcile, retention, sweep"),
        ({"sweep": {"evry": "1m"}}, {}, "schedules.sweep: unknown key(s) evry"),
        ({"digest": {"every": "1d"}}, {}, "schedules.digest: unknown key(s) every"),
        ({"retention": {"runs_days": "ninety"}}, {}, "schedules.retention.runs_days: must be a whole number"),
        ({"sweep": {"enabled": "no"}}, {}, "schedules.sweep.enabled: must be true or false"),
        ({"sweep": {"workers": 0}}, {}, "schedules.sweep.workers: must be a whole number >= 1, not 0"),
        ({"sweep": {"workers": 65}}, {}, "schedules.sweep.workers: must be at most 64, not 65"),
        ({"sweep": {"workers": "8"}}, {}, "schedules.sweep.workers: must be a whole number >= 1, not '8'"),
        ({"sweep": {"workers": True}}, {}, "schedules.sweep.workers: must be a whole number >= 1, not True"),
        ({"reconcile": {"workers": 4}}, {}, "schedules.reconcile: unknown key(s) workers"),
        (
            None,
            {"schedules": {"sweep": {"workers": 4}}},
            "integrations.acme.schedules.sweep.workers: is one pool for every integration",
        ),
        (None, {"schedules": {"digest": {"at": "09:00"}}}, "integrations.acme.schedules.digest: is one job for every"),
        (None, {"schedules": {"sweep": {"every": "1 hour"}}}, "integrations.acme.schedules.sweep.every: '1 hour'"),
    ],
)
def test_mistakes_name_the_key(schedules: Any, integration: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parsed(schedules, **integration)
    assert expected in str(e.value) and str(e.value).startswith("sync-doctor.yml: ")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"schedules": {"sweep": {"every": "15 mins"}}}, "schedules.sweep.every: '15 mins' is not an interval"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone: unknown time zone 'Mars/Olympus_Mons'"),
        ({"schedules": {"sweep": {"workers": 100}}}, "schedules.sweep.workers: must be at most 64, not 100"),
    ],
)
def test_the_commands_refuse_them_with_exit_2(
    tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str], extra: dict[str, Any], expected: str
) -> None:
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(
        yaml.safe_dump({"integrations": {"acme": SIDES}, **extra}), encoding="utf-8"
    )
    for argv in (["list"], ["worker", "--once"]):
        assert run(argv, env) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err
