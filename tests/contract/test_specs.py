"""The specs in ``tests/contract/specs/`` are the vendors' files, unmodified: each matches the
checksum recorded when it was copied, each vendor folder carries its licence, and nothing the
contract tests read is missing (a fresh clone needs nothing beside the repository).
``PROVIDERS.md`` is the project's own fact sheet, not a vendor's file: it is not checksummed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.contract.specs import HERE

VENDORS_WITH_FILES = ("xero", "quickbooks", "stripe")


def recorded() -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (HERE / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    return sums


def test_every_copied_file_matches_its_recorded_checksum() -> None:
    sums = recorded()
    for name, digest in sums.items():
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == digest, f"{name} is not the copied file"
    on_disk = {
        str(path.relative_to(HERE))
        for path in HERE.rglob("*")
        if path.is_file()
        and path.name not in ("README.md", "SHA256SUMS", "__init__.py", "PROVIDERS.md")
        and "__pycache__" not in path.parts
    }
    assert on_disk == set(sums), "every spec file is recorded in SHA256SUMS, and only those"


def test_each_vendor_folder_has_its_licence_and_provenance() -> None:
    for vendor in VENDORS_WITH_FILES:
        folder: Path = HERE / vendor
        assert (folder / "LICENSE").is_file(), vendor
        readme = (folder / "README.md").read_text(encoding="utf-8")
        assert "Source:" in readme and "commit" in readme, vendor
