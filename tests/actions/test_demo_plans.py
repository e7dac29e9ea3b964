"""`demo` lists each action the findings propose with its plan (or why it is refused)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli.actions import proposed_plans, proposed_text
from demo import DemoEnvironment
from tests.conftest import REPO


def test_each_proposed_action_is_planned_from_fresh_data(demo: DemoEnvironment) -> None:
    result = demo.services.checks.run("acme", trigger="demo")
    entries = proposed_plans(demo.services, result)
    kinds = [(e["action"]["kind"], e["finding"]["code"]) for e in entries]
    assert ("resync", "sync.unsynced") in kinds and ("create_item", "sku.missing") in kinds
    resync = next(e["plan"] for e in entries if e["action"]["kind"] == "resync")
    assert {i.number: i.status for i in resync.invoices} == {
        "INV-1003": "push",
        "INV-1004": "blocked",
        "INV-1005": "push",
        "INV-1007": "blocked",
    }
    text = proposed_text(entries)
    assert "Re-sync 4 invoices to QuickBooks Online (acme: hubspot -> quickbooks)" in text
    assert "blocked by sku.missing: no item SERV-010" in text
    assert demo.services.actions.list() == []  # planned, never stored


def test_demo_json_carries_the_plans(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SYNC_DOCTOR"))}
    done = subprocess.run(
        [sys.executable, str(REPO / "app.py"), "demo", "--json"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    runs = {r["integration"]: r for r in json.loads(done.stdout)["integrations"]}
    bluegum = {p["action"]["kind"]: p for p in runs["bluegum"]["proposed_actions"]}
    refused = bluegum["resync"]["refused"]
    assert bluegum["resync"]["plan"] is None and refused["code"] == "plan_refused"
    assert {b["ref"]: b["code"] for b in refused["blockers"]} == {
        "BG-0103": "contact.name_collision",
        "BG-0104": "mapping.currency",
        "BG-0105": "settings.period_locked",
    }
    assert bluegum["create_contact"]["plan"]["contacts"][0]["status"] == "push"
    assert runs["initech"]["proposed_actions"] == []
