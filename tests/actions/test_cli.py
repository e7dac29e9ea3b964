"""The action commands, run as the command line runs them (``app.run``), against the demo
world's emulators: resync with its JSON and exit codes, --plan, actions, actions resume, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import run
from demo import DemoEnvironment
from tests.actions.conftest import qbo_invoices, write_config


@pytest.fixture
def cli_env(demo: DemoEnvironment, tmp_path: Path) -> dict[str, str]:
    return write_config(demo, tmp_path / "sync-doctor.yml")


def json_out(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_resync_lands_one_adopts_one_and_says_so(
    demo: DemoEnvironment, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["resync", "acme", "INV-1003", "INV-1001", "--approve-as", "U0ADMIN1", "--json"], cli_env)
    out = json_out(capsys)
    assert code == 0
    landed = qbo_invoices(demo, "INV-1003")
    assert out == {
        "action": out["action"],
        "status": "succeeded",
        "invoices": [
            {"number": "INV-1003", "status": "succeeded", "destination_id": landed[0]["Id"], "error": None},
            {"number": "INV-1001", "status": "adopted", "destination_id": "40", "error": None},
        ],
    }
    # Asked again: both are there now, nothing is written twice.
    assert run(["resync", "acme", "INV-1003", "--approve-as", "U0ADMIN1", "--json"], cli_env) == 0
    assert json_out(capsys)["invoices"][0]["status"] == "adopted"
    assert len(qbo_invoices(demo, "INV-1003")) == 1


def test_resync_with_a_blocked_invoice_exits_1_and_names_the_finding(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["resync", "acme", "INV-1004", "INV-1003", "--approve-as", "U0ADMIN1", "--json"], cli_env)
    out = json_out(capsys)
    assert code == 1 and out["status"] == "succeeded"  # the action ran what it could
    rows = {r["number"]: r for r in out["invoices"]}
    assert rows["INV-1003"]["status"] == "succeeded"
    assert rows["INV-1004"]["status"] == "blocked" and "sku.missing: no item SERV-010" in rows["INV-1004"]["error"]
    assert run(["resync", "acme", "INV-1007", "--approve-as", "U0ADMIN1", "--json"], cli_env) == 1
    assert json_out(capsys) == {
        "action": None,
        "status": "refused",
        "invoices": [
            {
                "number": "INV-1007",
                "status": "blocked",
                "destination_id": None,
                "error": "sku.missing: no item PROD-0O1; did you mean PROD-001?",
            }
        ],
    }


def test_bad_input_exits_2_with_a_message(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["resync", "acme", "INV-1003", "--approve-as", "U0NOBODY"], cli_env) == 2
    assert "U0NOBODY is not an admin: add their Slack user id to slack.admins" in capsys.readouterr().err
    assert run(["resync", "acme", "INV-9999", "--approve-as", "U0ADMIN1"], cli_env) == 2
    assert "has no invoice numbered INV-9999" in capsys.readouterr().err
    numbers = [f"INV-{n}" for n in range(501)]
    assert run(["resync", "acme", *numbers, "--approve-as", "U0ADMIN1"], cli_env) == 2
    assert "501 invoices in one request; an action carries at most 500" in capsys.readouterr().err
    assert run(["resync", "acmee", "INV-1003", "--plan"], cli_env) == 2
    assert "No integration named 'acmee'. Did you mean acme?" in capsys.readouterr().err
    assert run(["resync", "acme", "INV-1003"], cli_env) == 2  # neither --plan nor --approve-as
    capsys.readouterr()


def test_plan_writes_nothing(
    demo: DemoEnvironment, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["resync", "acme", "INV-1005", "--plan"], cli_env) == 0
    text = capsys.readouterr().out
    assert text.startswith("Re-sync INV-1005 to QuickBooks Online (acme: hubspot -> quickbooks)")
    assert "first, create contact Priya Nair" in text
    assert "2 x 40.00 = 80.00  item PROD-002 (Gadget); account 4000, tax: the default" in text
    assert run(["resync", "acme", "INV-1005", "--plan", "--json"], cli_env) == 0
    plan = json_out(capsys)
    assert plan["counts"] == {"push": 1, "already_there": 0, "blocked": 0}
    assert qbo_invoices(demo, "INV-1005") == [] and demo.services.actions.list() == []


def test_actions_lists_and_audit_shows_every_transition(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["resync", "acme", "INV-1003", "--approve-as", "U0ADMIN1"], cli_env) == 0
    assert "Action 1 succeeded: Re-sync INV-1003 to QuickBooks Online" in capsys.readouterr().out
    assert run(["actions", "acme"], cli_env) == 0
    assert "#1     acme         succeeded" in capsys.readouterr().out
    assert run(["actions", "--json"], cli_env) == 0
    assert [a["state"] for a in json_out(capsys)["actions"]] == ["succeeded"]
    assert run(["audit", "acme", "--json"], cli_env) == 0
    events = [e["event"] for e in json_out(capsys)["events"] if e["action"] == 1]
    assert events[:4] == ["action.requested", "action.approved", "action.running", "step.sending"]
    assert "action.succeeded" in events and events[-1] == "action.verified"
    assert run(["audit", "acme"], cli_env) == 0
    assert "U0ADMIN1     action.approved    #1 requested -> approved" in capsys.readouterr().out
    assert run(["actions", "resume"], cli_env) == 0
    assert capsys.readouterr().out.strip() == "Nothing to resume."
