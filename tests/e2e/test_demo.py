"""`python app.py demo` on a fresh directory: the documented JSON, real problems, one clean
integration, exit code 1, and nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def run_demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SYNC_DOCTOR"))}
    env["PYTHONPATH"] = str(REPO)
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
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    runs = {r["integration"]: r for r in report["integrations"]}
    assert set(runs) == {"acme", "bluegum", "umbrella", "initech", "tasman", "harbour"}
    for run in runs.values():
        assert {"integration", "started_at", "duration_s", "api_calls", "findings", "resolved"} <= set(run)
        for finding in run["findings"]:
            assert FINDING_KEYS <= set(finding)
            assert "1." in finding["remediation"]
    assert [f for f in runs["initech"]["findings"] if f["severity"] in ("warn", "fail", "error")] == []
    broken = {name for name, run in runs.items() if any(f["severity"] == "fail" for f in run["findings"])}
    assert {"acme", "bluegum", "umbrella", "tasman", "harbour"} <= broken
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
    assert list(tmp_path.iterdir()) == []  # no database, key file or lock file left in the cwd


def test_demo_text_report_is_readable(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 1, done.stderr
    assert "initech: hubspot -> xero   HEALTHY" in done.stdout
    assert "acme: hubspot -> quickbooks   FAILING" in done.stdout
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
    ):
        assert secret not in done.stdout and secret not in done.stderr
