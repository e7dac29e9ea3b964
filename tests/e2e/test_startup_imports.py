"""What a command loads before it works (issue 8, "fast start"): ``--help`` none of the heavy
libraries, ``check`` neither Slack, the web server, the emulators nor Alembic once the schema
is current. Each case runs in a fresh interpreter and reports ``sys.modules``; the figures
themselves are ``bench/bench_startup.py``'s, not a test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
try:
    code = app.main()
except SystemExit as e:  # --help exits through argparse
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

NOT_FOR_HELP = {"slack_bolt", "slack_sdk", "starlette", "uvicorn", "sqlalchemy", "alembic", "httpx", "jinja2", "rich"}
# rich is not here: httpx imports it (for httpx's own command line) whenever it is installed.
NOT_FOR_CHECK = {"slack_bolt", "slack_sdk", "starlette", "uvicorn", "alembic", "sandbox", "demo"}


def loaded(argv: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    last = (done.stderr.strip().splitlines() or [""])[-1]
    assert last.startswith("{"), done.stderr[-2000:]  # the probe itself crashed
    report = json.loads(last)
    return report["code"], set(report["modules"])


def clashes(modules: set[str], banned: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


def test_help_loads_none_of_the_heavy_libraries(env: dict[str, str]) -> None:
    code, modules = loaded(["--help"], {**env, "PATH": os.environ.get("PATH", "")})
    assert code == 0
    assert clashes(modules, NOT_FOR_HELP) == []
    assert clashes(modules, {"checks", "providers", "store", "service.container", "bot"}) == []


def test_check_loads_no_slack_web_server_emulator_or_alembic_once_migrated(env: dict[str, str]) -> None:
    config = {"integrations": {"acme": {"source": {"system": "stripe"}, "destination": {"system": "xero"}}}}
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(config), encoding="utf-8")
    environ = {**env, "PATH": os.environ.get("PATH", "")}
    code, first = loaded(["check", "acme"], environ)
    assert code == 1 and "alembic" in first  # a new database: migrated on the first start
    code, modules = loaded(["check", "acme"], environ)
    assert code == 1  # not connected: a finding, not a crash
    assert clashes(modules, NOT_FOR_CHECK) == []
    assert {"sqlalchemy", "checks.runner"} <= modules  # it did run the checks
