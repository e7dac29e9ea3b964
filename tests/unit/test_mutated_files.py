"""Property: whatever a person does to a valid integrations file or world file (a value replaced
by one of another kind, a key removed, a key added), the command line answers with a report or
a message, never a traceback. ``list`` and ``sandbox --check`` exit 0 or 2; ``check`` may also
exit 1 (findings exist), but only with its report printed, and no check may crash on the file.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from app import run
from demo import DEMO_WORLD

# Every side points at the discard port: nothing is connected and nothing leaves the machine.
NOWHERE = "http://127.0.0.1:9"
CONFIG: dict[str, Any] = {
    "timezone": "Pacific/Auckland",
    "slack": {"admins": ["U0ADMIN1"], "alert_channel": "C0ALERTS", "allowed_channels": []},
    "integrations": {
        "acme": {
            "source": {"system": "hubspot", "tenant": "4411", "environment": "live", "base_url": NOWHERE},
            "destination": {"system": "xero", "tenant": "t-1", "name": "Acme Ltd", "base_url": NOWHERE},
            "settings": {
                "enabled": True,
                "direction": "source_to_destination",
                "statuses": ["open", "paid"],
                "since": "2026-01-01",
                "until": "2026-12-31",
                "skip_sources": ["aroflo"],
                "auto_sync": {"sales": True, "purchases": True},
                "currency": "NZD",
                "stale_after_hours": 48,
                "window_days": 30,
            },
            "mappings": {
                "accounts": {"4000": "200"},
                "tax": {"GST": "OUTPUT2"},
                "tracking": {"Region": "Region"},
                "currencies": {"NZD": "NZD"},
                "default_account": "200",
            },
            "requires": ["multicurrency"],
            "slack": {"channel": "C0ACME", "ephemeral": False},
        },
        "bluegum": {
            "source": {"system": "stripe", "base_url": NOWHERE, "limits": {"concurrent": 2, "per_minute": 60}},
            "destination": {"system": "quickbooks", "tenant": "9130", "base_url": NOWHERE},
        },
    },
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2026-13-45", "2026-01-01T10:00:00", "2026-02-30", "0001-01-01", "9999-12-31", "xero", "{}"]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``node`` a value sits (keys of mappings, indexes of lists)."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """``original`` with one to three changes a person could make."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = paths(data)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
    return data


def changed(original: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """``original`` with the value at ``path`` replaced: a known mistake, always tried."""
    data = copy.deepcopy(original)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return data


SETTINGS = ("integrations", "acme", "settings")


def write(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def assert_answered(code: int, err: str, allowed: set[int]) -> None:
    assert code in allowed, err
    assert "Traceback" not in err and "internal error" not in err, err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=mutated(CONFIG))
@example(config=changed(CONFIG, (*SETTINGS, "window_days"), 1_000_000_000_000))
@example(config=changed(CONFIG, (*SETTINGS, "since"), "2026-01-01T10:00:00"))
@example(config=changed(CONFIG, ("integrations", "bluegum", "destination", "system"), "zoho_books"))
def test_a_mutated_integrations_file_gets_a_report_or_a_message(
    config: dict[str, Any], database_url: str, capsys: Any
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DATABASE_URL": database_url,
            "SYNC_DOCTOR_SECRET_KEY": "test-secret-key",
            "SYNC_DOCTOR_CONFIG": f"{tmp}/sync-doctor.yml",
        }
        write(Path(env["SYNC_DOCTOR_CONFIG"]), config)
        code = run(["list"], env)
        captured = capsys.readouterr()
        event(f"list exited {code}")  # pytest --hypothesis-show-statistics: how many reach `check`
        assert_answered(code, captured.err, {0, 2})
        if code == 2:
            assert captured.err.startswith("error: "), captured.err
            return
        for name in ("acme", "bluegum"):
            code = run(["check", name], env)
            captured = capsys.readouterr()
            assert_answered(code, captured.err, {0, 1, 2})
            if code in (0, 1):
                assert f"{name}: " in captured.out and "internal.check_failed" not in captured.out, captured.out


WORLD: dict[str, Any] = yaml.safe_load(DEMO_WORLD.read_text(encoding="utf-8"))


@settings(max_examples=60, deadline=None)
@given(world=mutated(WORLD))
@example(world=changed(WORLD, ("xero", "faults"), {"rate_limit": "many"}))
@example(world=changed(WORLD, ("sage",), {}))
def test_a_mutated_world_file_loads_or_is_refused_with_a_message(world: dict[str, Any]) -> None:
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.yml"
        write(path, world)
        out, err = StringIO(), StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = run(["sandbox", "--world", str(path), "--check"], {})
        event(f"sandbox --check exited {code}")
        assert_answered(code, err.getvalue(), {0, 2})
