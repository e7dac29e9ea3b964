"""Where the official specs live: ``../shared/specs`` beside the repository (as on the dev
machines and in CI), or ``SYNC_DOCTOR_SPECS``."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPECS = Path(os.environ.get("SYNC_DOCTOR_SPECS") or REPO.parent / "shared" / "specs")
