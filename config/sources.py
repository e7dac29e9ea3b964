"""The ``feed:`` block of a job-app source: how to read invoices from an app Sync Doctor has no
dedicated client for (``system: generic``), or a preset's defaults adjusted
(``aroflo``, ``torqueflow``, ``workshop_software``; see :mod:`config.presets`).

A feed is either HTTP endpoints returning JSON (auth, paging, an optional status envelope) or
an export (a CSV or JSON file, or a URL the app publishes it to), plus a field mapping written
as JSON paths (:mod:`common.jsonpath`). Everything is validated here, when the file loads:
unknown keys, unknown kinds, malformed paths and missing required fields are errors naming the
key path. Whether the mapping fits the app's real payload is known only when it answers; the
provider then reports the field, the path and a sample record (``providers.errors.FeedMismatch``).

Field rules: a *required* field (invoice number, date, status, total, currency; contact id and
name; item id and name) must be present in every record. Any other field mapped by a path must
be present in at least one record of a response, unless marked ``optional: true``, so a path
with a typo is reported rather than read as "no email on any contact".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from common.jsonpath import JsonPath, JsonPathError, parse
from config.presets import PRESETS, merged

if TYPE_CHECKING:
    from config.integrations import _Reader

JOB_APP_SYSTEMS = ("generic", *PRESETS)
AUTH_KINDS = ("none", "bearer", "basic", "api_key_header", "hmac", "aroflo")
PAGING_KINDS = ("none", "page_number", "offset", "cursor", "link_header")
STATUSES = ("draft", "open", "paid", "void")
RESOURCES = ("invoices", "contacts", "items")
HMAC_ALGORITHMS = ("sha1", "sha256", "sha512")
DEFAULT_HMAC_MESSAGE = "{method}\n{path}\n{query}\n{timestamp}"

# field -> (required, kind). Kinds: text, date, decimal, status, flag, many (a list of records).
INVOICE_FIELDS: dict[str, tuple[bool, str]] = {
    "id": (False, "text"),
    "number": (True, "text"),
    "date": (True, "date"),
    "due_date": (False, "date"),
    "status": (True, "status"),
    "total": (True, "decimal"),
    "subtotal": (False, "decimal"),
    "tax": (False, "decimal"),
    "amount_paid": (False, "decimal"),
    "currency": (True, "text"),
    "contact_id": (False, "text"),
    "contact_name": (False, "text"),
    "contact_email": (False, "text"),
    "reference": (False, "text"),
    "job": (False, "text"),
    "posted": (False, "flag"),
    "updated_at": (False, "date"),
    "lines": (False, "many"),
}
LINE_FIELDS: dict[str, tuple[bool, str]] = {
    "sku": (False, "text"),
    "description": (False, "text"),
    "quantity": (False, "decimal"),
    "unit_price": (False, "decimal"),
    "amount": (False, "decimal"),
    "tax": (False, "decimal"),
    "tax_code": (False, "text"),
    "account_code": (False, "text"),
}
CONTACT_FIELDS: dict[str, tuple[bool, str]] = {
    "id": (True, "text"),
    "name": (True, "text"),
    "email": (False, "text"),
    "first_name": (False, "text"),
    "last_name": (False, "text"),
    "company": (False, "text"),
}
ITEM_FIELDS: dict[str, tuple[bool, str]] = {
    "id": (True, "text"),
    "code": (False, "text"),
    "name": (True, "text"),
    "price": (False, "decimal"),
    "account_code": (False, "text"),
    "active": (False, "flag"),
}
RECORD_FIELDS = {"invoice": INVOICE_FIELDS, "line": LINE_FIELDS, "contact": CONTACT_FIELDS, "item": ITEM_FIELDS}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One mapped field: a JSON path into the record, or a constant."""

    name: str
    kind: str
    required: bool
    path: JsonPath | None = None
    const: str | None = None
    format: str | None = None  # strptime format of a date; ISO 8601 when absent
    values: Mapping[str, str] = field(default_factory=dict)  # status: raw (casefolded) -> draft|open|paid|void
    truthy: str = "boolean"  # flag: "boolean" (true/1/yes) or "nonempty" (any non-blank value)
    optional: bool = False  # may be absent from every record


@dataclass(frozen=True, slots=True)
class AuthConfig:
    kind: str = "none"
    header: str | None = None  # api_key_header: the key's header; hmac: the signature's header
    prefix: str = ""  # put before the key / signature ("Bearer ", "HMAC ")
    algorithm: str = "sha256"
    encoding: str = "hex"  # hex | base64
    message: str = DEFAULT_HMAC_MESSAGE  # what an hmac signature covers
    timestamp_header: str | None = None
    key_id_header: str | None = None  # hmac: header carrying the key id (secret stored as "ID:SECRET")
    host_ip: str | None = None  # aroflo: the HostIP header (signed too) when the site requires it


@dataclass(frozen=True, slots=True)
class PagingConfig:
    kind: str = "none"
    page_param: str = "page"
    size_param: str | None = None
    size: int = 100
    first: int = 1  # page_number: the first page's number
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    first_cursor: str | None = None
    next_path: JsonPath | None = None  # cursor: where the body carries the next cursor
    next_header: str | None = None  # cursor: or the header that does
    max_pages: int = 1000  # a safety stop for an API that never says "last page"


@dataclass(frozen=True, slots=True)
class EnvelopeConfig:
    """An API that answers 200 with its own status in the body (AroFlo: ``"status": "0"``)."""

    ok_path: JsonPath | None = None
    ok_values: tuple[str, ...] = ()
    message_path: JsonPath | None = None


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    path: str
    records: JsonPath
    query: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # values may hold {since}
    since_format: str = "%Y-%m-%d"
    since_shift_days: int = 0


@dataclass(frozen=True, slots=True)
class ExportConfig:
    format: str  # csv | json
    file: str | None = None
    url: str | None = None
    records: JsonPath | None = None  # json: where the invoice records are ($[*] by default)
    delimiter: str = ","
    rows: str = "invoice"  # "line": one row per line, grouped into invoices by number
    encoding: str = "utf-8-sig"

    @property
    def where(self) -> str:
        return self.url or self.file or ""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    system: str
    auth: AuthConfig = AuthConfig()
    paging: PagingConfig = PagingConfig()
    envelope: EnvelopeConfig = EnvelopeConfig()
    endpoints: Mapping[str, EndpointConfig] = field(default_factory=dict)
    export: ExportConfig | None = None
    mapping: Mapping[str, Mapping[str, FieldSpec]] = field(default_factory=dict)  # record kind -> fields

    def fields(self, record: str) -> Mapping[str, FieldSpec]:
        return self.mapping.get(record, {})

    def reads(self, resource: str) -> bool:
        """Whether this feed can give ``resource`` (invoices / contacts / items)."""
        if resource == "invoices":
            return "invoices" in self.endpoints or self.export is not None
        return resource in self.endpoints and bool(self.fields(resource.removesuffix("s")))


def parse_feed(r: _Reader, value: Any, path: str, system: str) -> FeedConfig:
    """The ``feed:`` of a ``system`` side, over the system's preset when it has one."""
    raw = merged(PRESETS.get(system, {}), value) if system in PRESETS else value
    m = r.mapping(raw, path, {"auth", "paging", "envelope", "endpoints", "export", "mapping"})
    if not m:
        r.fail(path, f"is required for system {system}: endpoints (or export) and a mapping; see README")
    endpoints = _endpoints(r, m.get("endpoints"), f"{path}.endpoints")
    export = _export(r, m["export"], f"{path}.export") if m.get("export") is not None else None
    if "invoices" not in endpoints and export is None:
        r.fail(path, "needs endpoints.invoices (an HTTP API) or export (a file or URL) to read invoices from")
    if export is not None and export.file is None and export.url is None:
        r.fail(f"{path}.export", f"needs `file` or `url`: where {system}'s invoice export is")
    mapping = _mapping(r, m.get("mapping"), f"{path}.mapping")
    for resource in ("contacts", "items"):
        record = resource.removesuffix("s")
        if resource in endpoints and record not in mapping:
            r.fail(f"{path}.mapping.{record}", f"is required: endpoints.{resource} is configured")
    if "lines" in mapping.get("invoice", {}):
        line = mapping.get("line", {})
        if "amount" not in line and "unit_price" not in line:
            r.fail(f"{path}.mapping.line", "needs amount or unit_price (mapping.invoice.lines is configured)")
    return FeedConfig(
        system=system,
        auth=_auth(r, m.get("auth"), f"{path}.auth"),
        paging=_paging(r, m.get("paging"), f"{path}.paging"),
        envelope=_envelope(r, m.get("envelope"), f"{path}.envelope"),
        endpoints=endpoints,
        export=export,
        mapping=mapping,
    )


def _path(r: _Reader, value: Any, where: str) -> JsonPath:
    text = r.string(value, where, required=True) or ""
    try:
        return parse(text)
    except JsonPathError as e:
        r.fail(where, str(e))


def _auth(r: _Reader, value: Any, path: str) -> AuthConfig:
    m = r.mapping(
        value,
        path,
        {
            "kind",
            "header",
            "prefix",
            "algorithm",
            "encoding",
            "message",
            "timestamp_header",
            "key_id_header",
            "host_ip",
        },
    )
    kind = r.string(m.get("kind"), f"{path}.kind", choices=AUTH_KINDS) or "none"
    header = r.string(m.get("header"), f"{path}.header")
    if kind in ("api_key_header", "hmac") and not header:
        r.fail(
            f"{path}.header",
            f"is required for {kind}: the header the {'key' if kind != 'hmac' else 'signature'} goes in",
        )
    default_prefix = "Bearer " if kind == "bearer" else ""
    prefix = m.get("prefix", default_prefix)
    if not isinstance(prefix, str):
        r.fail(f"{path}.prefix", "must be a string")
    return AuthConfig(
        kind=kind,
        header=header or ("Authorization" if kind == "bearer" else None),
        prefix=prefix,
        algorithm=r.string(m.get("algorithm"), f"{path}.algorithm", choices=HMAC_ALGORITHMS) or "sha256",
        encoding=r.string(m.get("encoding"), f"{path}.encoding", choices=("hex", "base64")) or "hex",
        message=str(m.get("message") or DEFAULT_HMAC_MESSAGE),
        timestamp_header=r.string(m.get("timestamp_header"), f"{path}.timestamp_header"),
        key_id_header=r.string(m.get("key_id_header"), f"{path}.key_id_header"),
        host_ip=r.string(m.get("host_ip"), f"{path}.host_ip"),
    )


def _paging(r: _Reader, value: Any, path: str) -> PagingConfig:
    m = r.mapping(
        value,
        path,
        {
            "kind",
            "page_param",
            "size_param",
            "size",
            "first",
            "offset_param",
            "limit_param",
            "cursor_param",
            "first_cursor",
            "next_path",
            "next_header",
            "max_pages",
        },
    )
    kind = r.string(m.get("kind"), f"{path}.kind", choices=PAGING_KINDS) or "none"
    next_path = _path(r, m["next_path"], f"{path}.next_path") if m.get("next_path") is not None else None
    next_header = r.string(m.get("next_header"), f"{path}.next_header")
    if kind == "cursor" and next_path is None and next_header is None:
        r.fail(path, "cursor paging needs next_path (where the body gives the next cursor) or next_header")
    return PagingConfig(
        kind=kind,
        page_param=r.string(m.get("page_param"), f"{path}.page_param") or "page",
        size_param=r.string(m.get("size_param"), f"{path}.size_param"),
        size=r.integer(m.get("size"), f"{path}.size", 100, minimum=1),
        first=r.integer(m.get("first"), f"{path}.first", 1, minimum=0),
        offset_param=r.string(m.get("offset_param"), f"{path}.offset_param") or "offset",
        limit_param=r.string(m.get("limit_param"), f"{path}.limit_param") or "limit",
        cursor_param=r.string(m.get("cursor_param"), f"{path}.cursor_param") or "cursor",
        first_cursor=r.string(m.get("first_cursor"), f"{path}.first_cursor"),
        next_path=next_path,
        next_header=next_header,
        max_pages=r.integer(m.get("max_pages"), f"{path}.max_pages", 1000, minimum=1),
    )


def _envelope(r: _Reader, value: Any, path: str) -> EnvelopeConfig:
    m = r.mapping(value, path, {"ok_path", "ok_values", "message_path"})
    return EnvelopeConfig(
        ok_path=_path(r, m["ok_path"], f"{path}.ok_path") if m.get("ok_path") is not None else None,
        ok_values=r.strings(m.get("ok_values"), f"{path}.ok_values"),
        message_path=_path(r, m["message_path"], f"{path}.message_path") if m.get("message_path") is not None else None,
    )


def _endpoints(r: _Reader, value: Any, path: str) -> dict[str, EndpointConfig]:
    m = r.mapping(value, path, set(RESOURCES))
    found: dict[str, EndpointConfig] = {}
    for resource, body in m.items():
        where = f"{path}.{resource}"
        e = r.mapping(body, where, {"path", "query", "records", "since_format", "since_shift_days"})
        query: dict[str, tuple[str, ...]] = {}
        for key, raw in r.mapping(e.get("query"), f"{where}.query", None).items():
            if isinstance(raw, list):
                query[str(key)] = r.strings(raw, f"{where}.query.{key}")
            else:
                query[str(key)] = (r.string(raw, f"{where}.query.{key}", required=True) or "",)
        shift = e.get("since_shift_days", 0)
        if isinstance(shift, bool) or not isinstance(shift, int):
            r.fail(f"{where}.since_shift_days", f"must be a whole number, not {shift!r}")
        found[str(resource)] = EndpointConfig(
            path=r.string(e.get("path"), f"{where}.path", required=True) or "/",
            records=_path(r, e.get("records"), f"{where}.records"),
            query=query,
            since_format=r.string(e.get("since_format"), f"{where}.since_format") or "%Y-%m-%d",
            since_shift_days=shift,
        )
    return found


def _export(r: _Reader, value: Any, path: str) -> ExportConfig:
    m = r.mapping(value, path, {"format", "file", "url", "records", "delimiter", "rows", "encoding"})
    url = r.string(m.get("url"), f"{path}.url")
    if url is not None and not url.startswith(("http://", "https://")):
        r.fail(f"{path}.url", f"must be an http(s) URL, not {url!r}")
    delimiter = r.string(m.get("delimiter"), f"{path}.delimiter") or ","
    if len(delimiter) != 1:
        r.fail(f"{path}.delimiter", f"must be one character, not {delimiter!r}")
    fmt = r.string(m.get("format"), f"{path}.format", choices=("csv", "json")) or "csv"
    records = _path(r, m["records"], f"{path}.records") if m.get("records") is not None else None
    if records is not None and fmt == "csv":
        r.fail(f"{path}.records", "is for JSON exports; a CSV export's records are its rows")
    return ExportConfig(
        format=fmt,
        file=r.string(m.get("file"), f"{path}.file"),
        url=url,
        records=records or (parse("$[*]") if fmt == "json" else None),
        delimiter=delimiter,
        rows=r.string(m.get("rows"), f"{path}.rows", choices=("invoice", "line")) or "invoice",
        encoding=r.string(m.get("encoding"), f"{path}.encoding") or "utf-8-sig",
    )


def _mapping(r: _Reader, value: Any, path: str) -> dict[str, dict[str, FieldSpec]]:
    m = r.mapping(value, path, set(RECORD_FIELDS))
    if "invoice" not in m:
        r.fail(f"{path}.invoice", "is required: which JSON path (or column) holds each invoice field")
    found: dict[str, dict[str, FieldSpec]] = {}
    for record, body in m.items():
        table = RECORD_FIELDS[str(record)]
        where = f"{path}.{record}"
        fields_raw = r.mapping(body, where, set(table))
        specs = {
            str(name): _field(r, str(name), table[str(name)], raw, f"{where}.{name}")
            for name, raw in fields_raw.items()
        }
        for name, (required, _) in table.items():
            if required and name not in specs and not (record == "invoice" and name == "number" and "id" in specs):
                r.fail(f"{where}.{name}", "is required")
        found[str(record)] = specs
    return found


def _field(r: _Reader, name: str, rule: tuple[bool, str], value: Any, path: str) -> FieldSpec:
    required, kind = rule
    if isinstance(value, str):
        return FieldSpec(name, kind, required, path=_path(r, value, path))
    m = r.mapping(value, path, {"path", "const", "format", "values", "truthy", "optional"})
    if ("path" in m) == ("const" in m):
        r.fail(path, "give either `path` (a JSON path such as $.number) or `const` (a fixed value)")
    values: dict[str, str] = {}
    for raw, status in r.string_map(m.get("values"), f"{path}.values").items():
        if kind == "status" and status not in STATUSES:
            r.fail(f"{path}.values.{raw}", f"must be one of {', '.join(STATUSES)}, not {status!r}")
        values[raw.strip().casefold()] = status
    return FieldSpec(
        name,
        kind,
        required,
        path=_path(r, m["path"], f"{path}.path") if "path" in m else None,
        const=r.string(m.get("const"), f"{path}.const"),
        format=r.string(m.get("format"), f"{path}.format"),
        values=values,
        truthy=r.string(m.get("truthy"), f"{path}.truthy", choices=("boolean", "nonempty")) or "boolean",
        optional=r.boolean(m.get("optional"), f"{path}.optional", False),
    )
