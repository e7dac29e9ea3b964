"""Reading a feed's invoice export. Job apps without a public API are read from it: a CSV or JSON file on disk, or
a URL the app (or a shared drive) publishes it to. The same feed mapping applies: a CSV row is
a record whose keys are the header row's column names (``$['Invoice #']``).

Exports of one row per line (``export.rows: line``) are grouped into invoices by the invoice
number's column, in file order. A missing file is reported as such (``NotFound``); a missing
column is a ``FeedMismatch`` showing the header row the export really has.

Torqueflow and Workshop Software publish no API (``config/presets.py`` has what their exports
hold and what is unconfirmed; ``providers.jobapps`` their sources).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.sources import ExportConfig, FeedConfig
from providers.errors import FeedMismatch, NotFound
from providers.generic_wire import sample_text

logger = logging.getLogger(__name__)


def decode_export(export: ExportConfig, data: bytes, system: str) -> list[Any]:
    """The records of an export's bytes: CSV rows as ``{column: value}``, or JSON records."""
    text = data.decode(export.encoding, errors="replace")
    if export.format == "csv":
        reader = csv.DictReader(io.StringIO(text), delimiter=export.delimiter)
        if reader.fieldnames is not None:
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
        return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    try:
        body = json.loads(text)
    except ValueError as e:
        raise FeedMismatch(
            f"the export at {export.where} is not JSON: {e}",
            field="feed.export.format",
            path=export.format,
            sample=text[:300],
            system=system,
            code="feed_mismatch",
        ) from None
    assert export.records is not None
    found, miss = export.records.find(body)
    if miss is not None:
        raise FeedMismatch(
            f"feed.export.records ({export.records.text}) does not fit the export: {miss.describe()}",
            field="feed.export.records",
            path=export.records.text,
            sample=sample_text(body),
            system=system,
            code="feed_mismatch",
        )
    return found


def group_lines(feed: FeedConfig, rows: list[Any]) -> list[list[Any]]:
    """Rows of one invoice each, keyed by the invoice number's path, in file order."""
    spec = feed.fields("invoice").get("number") or feed.fields("invoice").get("id")
    groups: dict[str, list[Any]] = {}
    for row in rows:
        value, _ = spec.path.first(row) if spec is not None and spec.path is not None else (None, None)
        groups.setdefault(str(value) if value is not None else "", []).append(row)
    return list(groups.values())


class ExportReading:
    """Reads ``feed.export`` from a file or through the provider's HTTP client."""

    def __init__(self, feed: FeedConfig, fetch: Callable[[str], bytes], system: str, name: str) -> None:
        self.feed = feed
        self.fetch = fetch
        self.system = system
        self.name = name

    def records(self) -> tuple[list[Any], bool]:
        export = self.feed.export
        assert export is not None
        if export.url:
            data = self.fetch(export.url)
        else:
            path = Path(str(export.file)).expanduser()
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise NotFound(
                    f"the {self.name} export {path} does not exist: export the invoices again, or correct "
                    "source.feed.export.file",
                    system=self.system,
                ) from None
            except OSError as e:
                raise NotFound(
                    f"the {self.name} export {path} cannot be read: {e.strerror}", system=self.system
                ) from None
        rows = decode_export(export, data, self.system)
        if export.rows == "line":
            return group_lines(self.feed, rows), True
        return rows, False
