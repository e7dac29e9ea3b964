"""Broken world files: `sandbox --world FILE` (here with --check, which loads every section and
exits) says what is wrong with the file and exits 2, whatever the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import run
from demo import DEMO_WORLD
from sandbox.server import load_world

BROKEN: list[tuple[str, str | bytes, str]] = [
    ("not-yaml", "stripe: [unclosed\n", "line 2 not valid YAML"),
    ("a-list", "- stripe\n- xero\n", "a world file is a mapping of system name -> world section"),
    ("unknown-section", "sage:\n  accounts: {}\n", "unknown section 'sage': a world has one section per system"),
    ("section-not-mapping", "stripe: [1, 2]\n", "section stripe must be a mapping, not list"),
    ("not-utf8", b"stripe:\n  accounts:\n    acct_1: {business_name: Caf\xe9}\n", "not UTF-8 text (byte 0xe9)"),
    ("impossible-date", "stripe:\n  note: 2026-13-45\n", "not a valid date: month must be in 1..12"),
    ("far-relative-date", 'stripe:\n  note: "{date:+9999999999}"\n', "a relative date ({date:N} or {datetime:N})"),
    ("unknown-fault", "xero:\n  faults: {latency: 5}\n", "unknown fault(s) ['latency']"),
    ("fault-of-wrong-kind", "xero:\n  faults: {rate_limit: many}\n", "faults.rate_limit must be a whole number"),
    ("faults-not-mapping", "hubspot:\n  faults: [1]\n", "faults must be a mapping"),
    (
        "key-without-key",
        "stripe:\n  api_keys: [{account: acct_1}]\n",
        "section stripe: a required key 'key' is missing",
    ),
    ("tenants-not-a-list", "xero:\n  tenants: 5\n", "section xero: "),
    ("realms-a-list", "quickbooks:\n  realms: [1, 2]\n", "section quickbooks: "),
    ("portals-text", "hubspot:\n  portals: nope\n", "section hubspot: "),
    ("nothing-to-serve", "_note: just a note\n", "no system sections"),
]


@pytest.mark.parametrize(("name", "content", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_world_is_named_with_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes, expected: str
) -> None:
    path = tmp_path / f"{name}.yml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    assert run(["sandbox", "--world", str(path), "--check"], {}) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"error: {path}") and expected in err, err


def test_a_missing_world_file_and_the_demo_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sandbox", "--world", str(tmp_path / "nope.yml"), "--check"], {}) == 2
    assert "nope.yml: no such world file" in capsys.readouterr().err
    assert run(["sandbox", "--check"], {}) == 0
    systems = ", ".join(sorted(k for k in load_world(DEMO_WORLD) if k != "demo"))
    assert f"{DEMO_WORLD}: a world of {systems}; it loads." in capsys.readouterr().out
