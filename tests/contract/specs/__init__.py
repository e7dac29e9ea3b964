"""The official specs the contract tests read: this folder, copied into the repository with
their licences (README.md here says from where, and why whole). ``SYNC_DOCTOR_SPECS`` points
the tests at another folder of the same layout (a newer download, say)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECS = Path(os.environ.get("SYNC_DOCTOR_SPECS") or HERE)
