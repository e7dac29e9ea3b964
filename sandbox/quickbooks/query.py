"""QuickBooks' query language, the part clients send: ``SELECT * | COUNT(*) FROM Entity
[WHERE ...] [ORDERBY ...] [STARTPOSITION n] [MAXRESULTS m]``, compared without regard to case
as QuickBooks does [QR data-queries]. A name-list query returns active rows only unless its
WHERE mentions ``Active``."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from common.types import JSON
from sandbox.quickbooks.wire import ENTITIES, NAME_LISTS, Fault
from sandbox.quickbooks.world import Realm

logger = logging.getLogger(__name__)


def run_query(realm: Realm, text: str, *, max_results: int, error_code: str) -> JSON:
    """Run one statement of Intuit's query language; the QueryResponse object it answers.
    A page holds at most ``max_results`` rows; a bad statement is a Fault with ``error_code``."""
    try:
        query = parse_query(text)
    except QuerySyntaxError as e:
        raise Fault(400, error_code, "Error parsing query", f"QueryParserError: {e}") from None
    entity = entity_name(query.entity)
    if entity is None:
        raise Fault(
            400,
            error_code,
            "Error parsing query",
            f"QueryValidationError: Invalid entity {query.entity}",
        )
    rows = list(realm.entities[entity])
    conditions = list(query.where)
    if entity in NAME_LISTS and not any(c[0].lower() == "active" for c in conditions):
        conditions.append(("Active", "=", True))
    rows = [r for r in rows if all(_matches(_field(r, f), op, v) for f, op, v in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: int(r["Id"]) if r["Id"].isdigit() else 0)
    for field, descending in reversed(query.order):
        present = [r for r in rows if _field(r, field) is not None]
        missing = [r for r in rows if _field(r, field) is None]
        rows = sorted(present, key=lambda r: _sort_key(_field(r, field)), reverse=descending) + missing
    start = max(query.start or 1, 1)
    size = min(query.max or 100, max_results)
    page = rows[start - 1 : start - 1 + size]
    if not page:
        return {}
    return {entity: page, "startPosition": start, "maxResults": len(page)}


class QuerySyntaxError(ValueError):
    """A statement the parser cannot read; the message says where."""


class Query:
    """One parsed statement."""

    def __init__(self) -> None:
        self.entity = ""
        self.count = False
        self.where: list[tuple[str, str, Any]] = []
        self.order: list[tuple[str, bool]] = []
        self.start: int | None = None
        self.max: int | None = None


_TOKEN = re.compile(
    r"\s*(?:('(?:\\.|[^'\\])*')|(<=|>=|!=|=|<|>|\(|\)|,|\*)|(-?\d+(?:\.\d+)?)(?![\w.])|([A-Za-z_][\w.]*))"
)
_OPERATORS = {"=", "<", ">", "<=", ">=", "!=", "IN", "LIKE"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QuerySyntaxError(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        quoted, symbol, number, word = m.groups()
        if quoted is not None:
            found.append(("value", re.sub(r"\\(.)", r"\1", quoted[1:-1])))
        elif symbol is not None:
            found.append(("sym", symbol))
        elif number is not None:
            found.append(("value", number))
        else:
            found.append(("word", word))
    return found


def parse_query(text: str) -> Query:
    """``SELECT * | COUNT(*) FROM Entity [WHERE f op v [AND ...]] [ORDERBY f [ASC|DESC], ...]
    [STARTPOSITION n] [MAXRESULTS m]``; keywords and names are case-insensitive [QR data-queries]."""
    tokens = _tokens(text)
    q = Query()
    i = 0

    def peek_word() -> str:
        return str(tokens[i][1]).upper() if i < len(tokens) and tokens[i][0] == "word" else ""

    def take(kind: str | None = None, value: str | None = None) -> Any:
        nonlocal i
        if i >= len(tokens):
            raise QuerySyntaxError("the statement ends too early")
        tk, tv = tokens[i]
        if (kind and tk != kind) or (value and str(tv).upper() != value):
            raise QuerySyntaxError(f"expected {value or kind}, found {tv!r}")
        i += 1
        return tv

    take("word", "SELECT")
    if i < len(tokens) and tokens[i] == ("sym", "*"):
        take()
    else:
        for kind, value in (("word", "COUNT"), ("sym", "("), ("sym", "*"), ("sym", ")")):
            take(kind, value)
        q.count = True
    take("word", "FROM")
    q.entity = take("word")
    if peek_word() == "WHERE":
        take()
        while True:
            field = take("word")
            op = str(take()).upper()
            if op not in _OPERATORS:
                raise QuerySyntaxError(f"unknown operator {op!r}")
            if op == "IN":
                take("sym", "(")
                values = []
                while True:
                    values.append(_literal(tokens, i))
                    i += 1
                    if take("sym") == ")":
                        break
                q.where.append((field, op, values))
            else:
                q.where.append((field, op, _literal(tokens, i)))
                i += 1
            if peek_word() != "AND":
                break
            take()
    if peek_word() == "ORDERBY":
        take()
        while True:
            field = take("word")
            descending = False
            if peek_word() in ("ASC", "DESC"):
                descending = take().upper() == "DESC"
            q.order.append((field, descending))
            if i < len(tokens) and tokens[i] == ("sym", ","):
                take()
                continue
            break
    for keyword in ("STARTPOSITION", "MAXRESULTS"):
        if peek_word() == keyword:
            take()
            number = str(take("value"))
            if not number.isdigit():
                raise QuerySyntaxError(f"{keyword} needs a whole number")
            setattr(q, "start" if keyword == "STARTPOSITION" else "max", int(number))
    if i != len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[i][1]!r}")
    return q


def _literal(tokens: list[tuple[str, Any]], i: int) -> Any:
    if i >= len(tokens):
        raise QuerySyntaxError("a value is missing")
    kind, value = tokens[i]
    if kind == "value":
        return value
    if kind == "word" and str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise QuerySyntaxError(f"expected a value, found {value!r}")


def entity_name(name: str) -> str | None:
    """The entity a path or a query names, in its canonical case (None: not served here)."""
    return next((e for e in ENTITIES if e.lower() == name.lower()), None)


def _field(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if isinstance(value, Mapping) and "value" in value:  # CustomerRef = '1' compares the reference's value
        value = value["value"]
    return value


def _when(value: Any) -> datetime | None:
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    when = _when(value)
    if when is not None:
        return (0, when.timestamp())
    if isinstance(value, bool):
        return (1, int(value))
    try:
        return (1, float(value))
    except (TypeError, ValueError):
        return (2, str(value).casefold())


def _matches(actual: Any, op: str, expected: Any) -> bool:
    """Compare as QuickBooks does: names and values are not case sensitive [QR data-queries]."""
    if op == "IN":
        return any(_matches(actual, "=", v) for v in expected)
    if isinstance(expected, bool):
        flag = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        return flag == expected if op == "=" else flag != expected if op == "!=" else False
    if actual is None:
        return False
    if op == "LIKE":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(expected).casefold())
        return re.fullmatch(pattern, str(actual).casefold(), re.DOTALL) is not None
    a, b = _sort_key(actual), _sort_key(expected)
    if a[0] != b[0]:
        a, b = (2, str(actual).casefold()), (2, str(expected).casefold())
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]
