"""What the command line prints for people: evidence as text (no Python reprs, no empty fields),
colour and tables on a terminal, plain when piped or NO_COLOR, a progress line for slow work,
--help that describes everything, and `check --invoice` exiting by the invoice's verdict."""

from __future__ import annotations

import copy
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import build, run
from checks.findings import Finding, Impact, Severity
from cli import render, terminal
from cli.output import CLEAR_LINE, Output, progress
from cli.parser import parser
from demo import DEMO_SECRET_KEY, DEMO_WORLD, DemoEnvironment, fill_placeholders
from sandbox.server import load_world

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A stream that says it is a terminal, and tells when something was written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        count = super().write(text)
        self.written.set()
        return count


def stale() -> Finding:
    return Finding(
        code="sync.stale",
        severity=Severity.FAIL,
        subject="QuickBooks Online",
        evidence={
            "last_synced_at": "2026-11-30T09:00:00+00:00",
            "oldest_waiting": {"number": "INV-1003", "date": "2026-12-01", "contact": None, "total": "100.00"},
            "suggestions": [],
            "destination_contacts": [{"id": "21", "name": "Sam Carter", "archived": False, "email": ""}],
            "differences": {"total": {"source": "65.00", "destination": "40.00"}},
            "from_error": True,
            "reason": None,
        },
        impact=Impact(),
    )


def test_evidence_reads_as_text_without_reprs_or_empty_fields() -> None:
    text = "\n".join(render.finding_block(stale(), ""))
    assert "oldest waiting: number=INV-1003, date=2026-12-01, total=100.00" in text
    assert "destination contacts: id=21, name=Sam Carter, archived=no" in text
    assert "differences: total=(source=65.00, destination=40.00)" in text
    for noise in ("{", "}", "'", "None", "suggestions", "contact=", "email=", "from error", "reason", "False"):
        assert noise not in text, noise


def test_a_terminal_gets_colour_and_tables_a_pipe_or_no_color_plain_text() -> None:
    assert Output.for_stdout({}, Terminal()).rich
    for environ in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        assert not Output.for_stdout(environ, Terminal()).rich
    assert not Output.for_stdout({}, io.StringIO()).rich  # piped

    screen = Terminal()
    out = Output.for_stdout({}, screen)
    out.console.width = 100
    block = Finding(code="sku.missing", severity=Severity.FAIL, subject="SERV-010", evidence={"sku": "SERV-010"})
    out.console.print(terminal.finding(block, "1. Create the item."))
    shown = screen.getvalue()
    assert ANSI.search(shown)  # coloured
    plain = ANSI.sub("", shown)
    assert "FAIL  sku.missing" in plain and "SERV-010" in plain and "what to do:" in plain


def test_progress_shows_on_a_terminal_after_a_while_and_is_wiped() -> None:
    screen = Terminal()
    with progress("Checking acme", screen, after=0):
        assert screen.written.wait(10)  # the line appeared while the work was still going
    shown = screen.getvalue()
    assert shown.startswith(f"{CLEAR_LINE}Checking acme… 0s") and shown.endswith(CLEAR_LINE)

    quick = Terminal()
    with progress("Checking acme", quick, after=30):
        pass  # done before the line was due
    assert quick.getvalue() == ""

    piped = io.StringIO()
    with progress("Checking acme", piped, after=0):
        pass
    assert piped.getvalue() == ""


def test_help_describes_every_option_the_environment_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    top = parser()
    for action in top._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        for option in action._actions:
            if option.dest != "help":
                assert option.help, f"{action.prog} {option.dest} has no help"
    with pytest.raises(SystemExit):
        top.parse_args(["--help"])
    text = capsys.readouterr().out
    for variable in ("DATABASE_URL", "SYNC_DOCTOR_CONFIG", "SYNC_DOCTOR_SECRET_KEY", "SLACK_BOT_TOKEN", "LOG_LEVEL"):
        assert variable in text
    assert "NO_COLOR" in text and "NAME_FILE" in text
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"\n  {code}" in text


@pytest.fixture
def demo_check_env(tmp_path: Path, database_url: str) -> Iterator[dict[str, str]]:
    """The demo world's emulators running, and a config file pointing at them, for the CLI."""
    world = load_world(DEMO_WORLD)
    env = {
        "DATABASE_URL": database_url,
        "SYNC_DOCTOR_SECRET_KEY": DEMO_SECRET_KEY,  # the demo stores its credentials under its own key
        "SYNC_DOCTOR_CONFIG": str(tmp_path / "sync-doctor.yml"),
    }
    clients: dict[str, Any] = world["demo"]["oauth_clients"]
    for system, client in clients.items():
        env[f"{system.upper()}_CLIENT_ID"] = client["client_id"]
        env[f"{system.upper()}_CLIENT_SECRET"] = client["client_secret"]
    with DemoEnvironment({}, build, world=copy.deepcopy(world), database_url=database_url) as demo:
        assert demo.sandbox is not None
        spec = fill_placeholders(copy.deepcopy(world["demo"]), demo.sandbox)
        Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump({"integrations": spec["integrations"]}), "utf-8")
        yield env


def test_check_invoice_exits_by_the_invoices_verdict(
    demo_check_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "acme", "--invoice", "INV-1001"], demo_check_env) == 0  # in QuickBooks, nothing against it
    assert "=> INV-1001 is in QuickBooks Online as" in capsys.readouterr().out
    # acme has failing findings, but INV-1001's trace is what was asked about; INV-1004 is blocked.
    assert run(["check", "acme", "--invoice", "INV-1004"], demo_check_env) == 1
    assert "Item (SKU) missing in the destination" in capsys.readouterr().out
    assert run(["check", "acme", "--invoice", "  "], demo_check_env) == 2
    assert "argument --invoice: the invoice number is empty" in capsys.readouterr().err
