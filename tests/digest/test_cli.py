"""``sync-doctor digest``: exit codes, --quarter, --out files by extension, --post."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from freezegun import freeze_time

from app import build, run
from config.env import load_settings
from config.integrations import parse_config
from reports.digest.periods import Quarter
from sandbox.slack.api import FakeSlack
from tests.digest.seeding import BASE_CONFIG, finding, record
from tests.digest.seeding import run as check_run

TZ = "Australia/Sydney"


@pytest.fixture
def configured(env: dict[str, str]) -> dict[str, str]:
    data: dict[str, Any] = {**BASE_CONFIG, "timezone": TZ, "slack": {"digest_channel": "C0DIGEST"}}
    Path(env["SYNC_DOCTOR_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")
    services = build(load_settings(env), parse_config(data))
    start = Quarter(2026, 3).bounds(TZ)[0]
    with services.sessions.begin() as session:
        for i in range(3):
            record(session, check_run("acme", start + timedelta(days=i), finding("sku.missing")), TZ)
    services.close()
    return env


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["digest", "--quarter", "2026Q5"], "'2026Q5' is not a quarter: write the year and the quarter, e.g. 2026Q3"),
        (["digest", "--quarter", "last"], "e.g. 2026Q3"),
        (["digest", "--out", "digest.txt"], "the file's extension says what to write: .md (the report), .png"),
    ],
)
def test_bad_arguments_exit_2_saying_what_to_do(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(argv, configured) == 2
    assert message in capsys.readouterr().err


def test_two_files_of_one_kind_or_a_missing_folder_exit_2(
    configured: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["digest", "--out", str(tmp_path / "a.md"), "--out", str(tmp_path / "b.md")], configured) == 2
    assert "two .md files" in capsys.readouterr().err
    assert run(["digest", "--out", str(tmp_path / "nowhere" / "a.md")], configured) == 2
    assert "does not exist" in capsys.readouterr().err


def test_out_writes_each_file_by_its_extension(configured: dict[str, str], tmp_path: Path) -> None:
    md, png, data = tmp_path / "d.md", tmp_path / "charts" / "d.png", tmp_path / "d.json"
    png.parent.mkdir()
    assert (
        run(["digest", "--quarter", "2026Q3", "--out", str(md), "--out", str(png), "--out", str(data)], configured) == 0
    )
    assert png.read_bytes().startswith(b"\x89PNG")
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Sync health, Q3 2026") and "](charts/d.png)" in text
    assert "Only 3 days of data this quarter (1 Jul 2026 to 3 Jul 2026)" in text
    numbers = json.loads(data.read_text(encoding="utf-8"))
    assert numbers["quarter"] == "2026Q3" and numbers["days_with_data"] == 3
    assert numbers["integrations"][0]["name"] == "acme" and numbers["integrations"][0]["health"] == 0.0


def test_without_out_it_prints_the_last_complete_quarter(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with freeze_time("2026-09-30T14:30:00Z"):  # 1 October, 00:30 in Sydney: Q3 is over
        assert run(["digest"], configured) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Sync health, Q3 2026") and "![" not in out


def test_post_then_not_again(configured: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with FakeSlack(tokens=("xoxb-t",)) as slack:
        env = {**configured, "SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url}
        slack.not_in_channel.add("C0DIGEST")
        assert run(["digest", "--quarter", "2026Q3", "--post"], env) == 2
        err = capsys.readouterr().err
        assert "was not posted: not_in_channel: invite the Sync Doctor app to the channel" in err
        slack.not_in_channel.clear()
        assert run(["digest", "--quarter", "2026Q3", "--post"], env) == 0
        assert "posted the digest of Q3 2026 to C0DIGEST" in capsys.readouterr().out
        assert run(["digest", "--quarter", "2026Q3", "--post"], env) == 0
        assert "was posted already" in capsys.readouterr().out
        assert len(slack.calls_to("chat.postMessage")) == 2  # the refused one and the one that landed
