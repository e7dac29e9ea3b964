"""`python app.py demo` on a fresh directory: the documented JSON, real problems, one clean
integration, exit code 0 (it ran; its integrations fail by design), and nothing left behind,
whatever DATABASE_URL says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import build
from demo import DemoEnvironment, without_operator_settings
from tests.conftest import REPO

FINDING_KEYS = {
    "code",
    "severity",
    "title",
    "subject",
    "system",
    "evidence",
    "impact",
    "remediation",
    "status",
    "action",
}


def run_demo(cwd: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SYNC_DOCTOR", "NO_COLOR"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, str(REPO / "app.py"), "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_json_shows_the_stories_and_a_clean_integration(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    runs = {r["integration"]: r for r in report["integrations"]}
    assert set(runs) == {"acme", "bluegum", "umbrella", "initech", "tasman", "harbour", "sparky", "torque"}
    for run in runs.values():
        assert {"integration", "started_at", "duration_s", "api_calls", "findings", "resolved"} <= set(run)
        for finding in run["findings"]:
            assert FINDING_KEYS <= set(finding)
            assert "1." in finding["remediation"]
    assert [f for f in runs["initech"]["findings"] if f["severity"] in ("warn", "fail", "error")] == []
    broken = {name for name, run in runs.items() if any(f["severity"] == "fail" for f in run["findings"])}
    assert {"acme", "bluegum", "umbrella", "tasman", "harbour", "sparky", "torque"} <= broken
    codes = {f["code"] for run in runs.values() for f in run["findings"]}
    stories = {
        "sku.missing",
        "sku.case_mismatch",
        "contact.email_mismatch",
        "contact.name_collision",
        "mapping.currency",
        "plan.feature_missing",
        "settings.period_locked",
        "token.refresh_failed",
        "apikey.environment",
        "token.expiring",
        "middleware.disabled",
        "jobapp.reissued",
    }
    assert stories <= codes
    # worst first: severities never increase down a report
    order = {"error": 3, "fail": 2, "warn": 1, "ok": 0}
    for run in runs.values():
        ranks = [order[f["severity"]] for f in run["findings"]]
        assert ranks == sorted(ranks, reverse=True)
    # the typo'd SKU gets a suggestion, with its exact evidence
    typo = next(f for f in runs["acme"]["findings"] if f["code"] == "sku.missing" and f["subject"] == "PROD-0O1")
    assert "PROD-001" in json.dumps(typo["evidence"]) and typo["impact"]["invoices"] == ["INV-1007"]
    # Zoho Books: another app spent most of the day's quota; a EUR invoice; the transaction lock
    tasman = {(f["code"], f["system"]): f for f in runs["tasman"]["findings"]}
    quota = tasman[("rate.limited", "zoho_books")]
    assert quota["evidence"]["reasons"] == ["day_quota"] and quota["evidence"]["day_limit"] == 5000
    assert "Settings → Developer & Data → API Usage" in quota["remediation"]
    assert ("mapping.currency", "zoho_books") in tasman and ("settings.period_locked", "zoho_books") in tasman
    # MYOB: throttling answered 403 and waited out, an item number differing only in case
    harbour = {(f["code"], f["subject"]): f for f in runs["harbour"]["findings"]}
    throttled = harbour[("rate.limited", "myob")]
    assert throttled["evidence"]["throttled"] > 0 and "(HTTP 403)" in throttled["remediation"]
    cased = harbour[("sku.case_mismatch", "led-dl10")]
    assert cased["evidence"]["destination_code"] == "LED-DL10" and cased["impact"]["invoices"] == ["HE-3002"]
    assert ("settings.period_locked", "lock_date") in harbour
    # the job-app stories: Make switched itself off after Xero refused an unmapped code three times
    sparky = runs["sparky"]
    assert sparky["middleware"] == "make"
    stopped = next(f for f in sparky["findings"] if f["code"] == "middleware.disabled")
    assert stopped["evidence"]["reason"] == "errors" and stopped["evidence"]["consecutive_errors"] == 3
    assert "4-1020" in stopped["evidence"]["last_errors"][0]["message"]
    assert sorted(stopped["impact"]["invoices"]) == ["1043", "1044", "1046"]
    unmapped = {(f["code"], f["subject"]) for run in (sparky, runs["torque"]) for f in run["findings"]}
    assert {("mapping.account_code", "4-1020"), ("mapping.account_code", "Tyres")} <= unmapped
    assert any("Sync now" in note for note in runs["torque"]["cannot_tell"])
    assert list(tmp_path.iterdir()) == []  # no database, key file or lock file left in the cwd


def test_demo_text_report_is_readable(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no log line mixed in: the report is the output
    assert "initech: hubspot -> xero   HEALTHY" in done.stdout
    assert "acme: hubspot -> quickbooks   FAILING" in done.stdout
    assert "sparky: aroflo -> make -> xero   FAILING" in done.stdout
    assert "middle: Make scenario 'AroFlo approved invoices to Xero': switched off after repeated errors" in done.stdout
    assert "what to do:" in done.stdout
    assert "tasman: stripe -> zoho_books   FAILING" in done.stdout
    assert "harbour: hubspot -> myob   FAILING" in done.stdout
    for secret in (
        "pat-na1-acme-demo",
        "rk_live_bluegum",
        "at-bluegum-xero",
        "rt-acme-qbo",
        "1000.tasman-demo-access",
        "harbour-cf-demo",
        "demo-aroflo-secret",
        "7d3f5a2c",
    ):
        assert secret not in done.stdout and secret not in done.stderr


def test_demo_never_touches_the_database_or_key_the_environment_names(tmp_path: Path) -> None:
    """DATABASE_URL pointed at a real deployment once got its connections overwritten by the
    demo's: the demo keeps to its own temporary database and key, always."""
    real = tmp_path / "real"
    real.mkdir()
    done = run_demo(
        tmp_path,
        "--json",
        DATABASE_URL=f"sqlite:///{real}/production.db",
        SYNC_DOCTOR_SECRET_KEY="the-operators-key",
        SLACK_BOT_TOKEN="xoxb-real-workspace",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # nothing listens: a demo alert posted there would fail
    )
    assert done.returncode == 0, done.stderr
    assert list(real.iterdir()) == []  # no database, key or lock file created there
    assert "xoxb" not in done.stderr and "Traceback" not in done.stderr


def test_the_demo_refuses_an_environment_that_carries_the_operators_database() -> None:
    """Handed DATABASE_URL, the demo would have to ignore it silently (a test meant for
    PostgreSQL running on SQLite) or use it (overwriting real connections): it does neither."""
    with pytest.raises(ValueError, match="the demo never uses DATABASE_URL, SYNC_DOCTOR_SECRET_KEY"):
        DemoEnvironment({"DATABASE_URL": "sqlite:///x.db", "SYNC_DOCTOR_SECRET_KEY": "k", "PORT": "1"}, build)
    assert without_operator_settings({"DATABASE_URL": "sqlite:///x.db", "PORT": "1"}) == {"PORT": "1"}
