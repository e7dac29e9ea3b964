"""The command line on the demo's job-app integrations, served by their emulators: connecting the
middleware's token, and ``check --invoice`` through AroFlo -> Make -> Xero and a Torqueflow
export -> Xero."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import run
from demo import DEMO_WORLD, fill_placeholders
from sandbox.server import Sandbox, load_world

SECTIONS = ("aroflo", "make", "jobapp", "xero_trades")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """The CLI installs its redacting log handler on the root logger; running it in this process
    must not change what later tests' log captures see."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, dict[str, Any]]]:
    world = load_world(DEMO_WORLD)
    sandbox = Sandbox({k: copy.deepcopy(world[k]) for k in SECTIONS}).start()
    try:
        yield sandbox, world["demo"]
    finally:
        sandbox.stop()


@pytest.fixture
def configured(env: dict[str, str], served: tuple[Sandbox, dict[str, Any]]) -> dict[str, str]:
    sandbox, demo = served
    integrations = fill_placeholders({k: demo["integrations"][k] for k in ("sparky", "torque")}, sandbox)
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump({"integrations": integrations}), encoding="utf-8")
    return {**env, "XERO_CLIENT_ID": "demo-xero-client", "XERO_CLIENT_SECRET": "demo-xero-secret"}


def connect(env: dict[str, str], name: str, side: str, *args: str) -> None:
    assert run(["connect", name, side, *args], env) == 0


def xero(env: dict[str, str], name: str, token: str, tenant: str) -> None:
    connect(
        env,
        name,
        "destination",
        "--access-token",
        f"at-{token}-xero",
        "--refresh-token",
        f"rt-{token}-xero",
        "--expires-in",
        "1800",
        "--tenant",
        tenant,
    )


def test_the_trace_goes_through_the_make_scenario(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "uencoded=U3Bhcmt5QVBJ&pencoded=cGFzc3dvcmQx&orgencoded=JCdKUyZRMCAgCg==&secret_key=demo-aroflo-secret"
    connect(configured, "sparky", "source", "--api-key", secret)
    connect(configured, "sparky", "middleware", "--api-key", "7d3f5a2c-8b1e-4c6d-9a0f-2e4b6c8d0a1f")
    xero(configured, "sparky", "sparky", "5ba4c1e0-0000-4000-8000-0000000005a1")
    assert "Connected sparky middleware: make (tenant 21), api_key stored encrypted." in capsys.readouterr().out
    assert run(["check", "sparky", "--invoice", "1043"], configured) == 1
    out = capsys.readouterr().out
    assert "NO  Make scenario 'AroFlo approved invoices to Xero': switched off after repeated errors" in out
    assert "--  Sent to accounting by AroFlo: not yet, by AroFlo's own record" in out
    assert "=> 1043 is not in Xero because the Make scenario 'AroFlo approved invoices to Xero' is switched off" in out
    assert run(["check", "sparky"], configured) == 1
    report = capsys.readouterr().out
    assert report.startswith("sparky: aroflo -> make -> xero   FAILING")
    assert "  middle: Make scenario 'AroFlo approved invoices to Xero': switched off after repeated errors" in report
    assert "7d3f5a2c" not in report and "demo-aroflo-secret" not in report


def test_the_trace_of_a_torqueflow_invoice_as_json(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    xero(configured, "torque", "torque", "70a9e000-0000-4000-8000-0000000070a9")
    capsys.readouterr()
    assert run(["check", "torque", "--invoice", "TM-1003", "--json"], configured) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["trace"]["verdict"] == "TM-1003 is not in Xero because account Tyres is unmapped."
    assert body["trace"]["invoice"]["total"] == "384.00" and body["middleware"] is None


def test_a_middleware_credential_needs_a_middleware(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["connect", "torque", "middleware", "--api-key", "x"], configured) == 2
    assert "torque has no middleware configured (integrations.torque.middleware)" in capsys.readouterr().err
