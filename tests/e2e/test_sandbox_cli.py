"""`app.py sandbox`: serves every emulator of a world until SIGTERM, printing base URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO

WORLD = """
stripe:
  api_keys: [{key: sk_test_world1, account: acct_world}]
  accounts:
    acct_world:
      business_name: World Ltd
      default_currency: nzd
      customers: [{id: cus_1, name: Ada, email: ada@example.com, created: "{date:-3}"}]
"""


def test_sandbox_serves_a_world_until_sigterm(tmp_path: Path) -> None:
    world = tmp_path / "world.yml"
    world.write_text(WORLD, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "sandbox", "--world", str(world)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "stripe" and first[1].startswith("http://127.0.0.1:")
        assert "An integration side served by the sandbox" in proc.stdout.readline()
        # a config side, ready to paste: every URL it needs
        assert proc.stdout.readline().split(None, 1) == ["stripe:", f'{{system: stripe, base_url: "{first[1]}"}}\n']
        assert "Serving the sandbox" in proc.stdout.readline()
        answer = httpx.get(first[1] + "/v1/customers", headers={"Authorization": "Bearer sk_test_world1"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["object"] == "list" and [c["email"] for c in body["data"]] == ["ada@example.com"]
        refused = httpx.get(first[1] + "/v1/customers", headers={"Authorization": "Bearer sk_test_nope"})
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "invalid_request_error"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
