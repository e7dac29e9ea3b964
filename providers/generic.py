"""A source for any app that gives its invoices as JSON over HTTP, or as an export: the feed
configured under ``source.feed`` (``config/sources.py``), read as the checks need it.

HTTP: each endpoint (invoices, contacts, items) is paged the configured way (page number,
offset, cursor in the body or a header, or the ``Link`` header's ``rel="next"``), each request
authenticated the configured way (``providers.signing``); an API that answers 200 with its own
status in the body is checked against ``envelope.ok_values``. The query string is encoded here
(JavaScript's ``encodeURIComponent``) and sent exactly as signed. ``{since}`` in a query value
is the start of the run's window, in the endpoint's ``since_format``.

Exports (``providers.exports``): the same mapping over a CSV or JSON file or URL.

Invoices are filtered to those dated on or after ``since`` here too, since an API may ignore a
filter and an export has none. A mapping that does not fit is a ``FeedMismatch``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from config.sources import EndpointConfig, FeedConfig
from providers.base import Capability, Endpoints, Provider
from providers.errors import (
    CredentialsMissing,
    FeedMismatch,
    NotFound,
    ProviderError,
    RateLimited,
    Rejected,
    ScopeMissing,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
)
from providers.exports import ExportReading
from providers.generic_wire import FeedMapper, sample_text
from providers.http import Limits, parse_retry_after
from providers.records import Contact, Invoice, Item
from providers.signing import RequestParts, SecretFormatError, headers_for, query_string

logger = logging.getLogger(__name__)


class GenericSource(Provider):
    """Reads a job app through its feed. ``system = "generic"``; presets subclass it."""

    system = "generic"
    display_name = "Job app"
    auth_kind = "api_key"
    default_endpoints = Endpoints(base_url="http://localhost")
    default_limits = Limits(concurrent=2, per_minute=120)
    capabilities = frozenset({Capability.INVOICES, Capability.CONTACTS, Capability.ITEMS})
    # What the report says when the feed cannot tell whether an invoice was sent to the
    # accounting system (no ``posted`` mapping).
    posted_blind_spot: ClassVar[str] = (
        "whether the app sent each invoice to the accounting system (no `posted` mapping)"
    )

    @property
    def feed(self) -> FeedConfig:
        if self.options.feed is None:
            raise UnexpectedResponse(f"{self.display_name} has no feed configured (source.feed)", system=self.system)
        return self.options.feed

    def supports(self, capability: Capability) -> bool:
        if capability in (Capability.CONTACTS, Capability.ITEMS):
            return self.options.feed is not None and self.feed.reads(capability.value)
        return super().supports(capability)

    def auth_headers(self) -> Mapping[str, str]:
        return {"Accept": "application/json"}  # each request signs itself (_request)

    def blind_spots(self) -> tuple[str, ...]:
        if self.options.feed is None:
            return ()
        spots = [] if "posted" in self.feed.fields("invoice") else [self.posted_blind_spot]
        if "contact_email" not in self.feed.fields("invoice") and "email" not in self.feed.fields("contact"):
            spots.append("customers' email addresses (the feed has none: contacts are matched by name)")
        return tuple(spots)

    def error_for(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        message = response.text[:200].replace("\n", " ").strip() or f"HTTP {status}"
        kw: dict[str, Any] = {"system": self.system, "status": status}
        if status == 401:
            return TokenRevoked(message, **kw)
        if status == 403:
            return ScopeMissing(message, **kw)
        if status == 404:
            return NotFound(f"{response.request.url.path} not found: {message}", **kw)
        if status == 429:
            return RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kw)
        if status >= 500:
            return Unavailable(message, **kw)
        return Rejected(message, **kw)

    def envelope_error(self, status: str, message: str) -> ProviderError:
        """An API's own status in a 200 body, other than ``ok_values`` (AroFlo overrides this)."""
        return Rejected(f"answered status {status!r}: {message}", system=self.system, code=status)

    # -- requests ---------------------------------------------------------------------------

    def _secret(self) -> str | None:
        if self.feed.auth.kind == "none":
            return None
        return self.tokens.access_token()

    def _request(self, url: str, items: list[tuple[str, str]] | None) -> httpx.Response:
        """GET ``url`` (absolute, or relative to the base URL) with ``items`` encoded as its query."""
        target = httpx.URL(url) if url.startswith(("http://", "https://")) else None
        if target is None:
            base = self.options.endpoints.base_url.rstrip("/")
            target = httpx.URL(f"{base}/{url.lstrip('/')}")
        query = query_string(items) if items is not None else target.query.decode()
        full = str(target.copy_with(query=None)) + (f"?{query}" if query else "")
        parts = RequestParts("GET", target.path, query)
        try:
            headers = dict(headers_for(self.feed.auth, self._secret(), parts, datetime.now(UTC)))
        except SecretFormatError as e:
            raise CredentialsMissing(str(e), system=self.system) from None
        return self.api.request("GET", full, headers=headers)

    def _body(self, response: httpx.Response) -> Any:
        body = self.api.json(response)
        envelope = self.feed.envelope
        if envelope.ok_path is not None:
            status, _ = envelope.ok_path.first(body)
            if str(status) not in envelope.ok_values:
                message, _ = envelope.message_path.first(body) if envelope.message_path else (None, None)
                raise self.envelope_error(str(status), str(message or ""))
        return body

    def _records(self, endpoint: EndpointConfig, body: Any, resource: str) -> list[Any]:
        found, miss = endpoint.records.find(body)
        if miss is not None:
            raise FeedMismatch(
                f"feed.endpoints.{resource}.records ({endpoint.records.text}) does not fit what {self.display_name} "
                f"returned: {miss.describe()}",
                field=f"feed.endpoints.{resource}.records",
                path=endpoint.records.text,
                sample=sample_text(body),
                system=self.system,
                code="feed_mismatch",
            )
        return found

    def _query(self, endpoint: EndpointConfig, since: date | None) -> list[tuple[str, str]]:
        day = (since or date(1970, 1, 1)) + timedelta(days=endpoint.since_shift_days)
        items: list[tuple[str, str]] = []
        for key, values in endpoint.query.items():
            items.extend((key, value.replace("{since}", day.strftime(endpoint.since_format))) for value in values)
        return items

    def _fetch(self, resource: str, since: date | None = None) -> list[Any]:
        endpoint = self.feed.endpoints[resource]
        return [r for page in self._pages(endpoint, self._query(endpoint, since), resource) for r in page]

    def _pages(self, endpoint: EndpointConfig, base: list[tuple[str, str]], resource: str) -> Iterator[list[Any]]:
        """Each page's records, the configured way, until the API says there are no more."""
        paging = self.feed.paging
        size = [(paging.size_param, str(paging.size))] if paging.size_param else []
        if paging.kind == "none":
            yield self._records(endpoint, self._body(self._request(endpoint.path, base)), resource)
            return
        if paging.kind == "link_header":
            url: str | None = endpoint.path
            items: list[tuple[str, str]] | None = base + size
            for _ in range(paging.max_pages):
                if url is None:
                    return
                response = self._request(url, items)
                yield self._records(endpoint, self._body(response), resource)
                nxt = response.links.get("next", {}).get("url")
                url, items = (str(response.request.url.join(nxt)), None) if nxt else (None, None)
            return
        cursor = paging.first_cursor
        for index in range(paging.max_pages):
            if paging.kind == "page_number":
                step = [(paging.page_param, str(paging.first + index)), *size]
            elif paging.kind == "offset":
                step = [(paging.offset_param, str(index * paging.size)), (paging.limit_param, str(paging.size))]
            else:
                step = [(paging.cursor_param, cursor)] if cursor is not None else []
            response = self._request(endpoint.path, base + step)
            body = self._body(response)
            records = self._records(endpoint, body, resource)
            yield records
            if paging.kind == "cursor":
                cursor = self._next_cursor(body, response)
                if not cursor or not records:
                    return
            elif len(records) < paging.size:
                return

    def _next_cursor(self, body: Any, response: httpx.Response) -> str | None:
        paging = self.feed.paging
        if paging.next_header:
            return response.headers.get(paging.next_header) or None
        if paging.next_path is not None:
            value, _ = paging.next_path.first(body)
            return str(value) if value not in (None, "") else None
        return None

    # -- reads ----------------------------------------------------------------------------

    def invoice_records(self, since: date | None) -> tuple[list[Any], bool]:
        """(records, grouped): the invoice records, or groups of line rows (exports)."""
        if "invoices" in self.feed.endpoints or self.feed.export is None:
            return self._fetch("invoices", since), False
        return ExportReading(self.feed, self._download, self.system, self.display_name).records()

    def _download(self, url: str) -> bytes:
        return self._request(url, None).content

    def invoices(self, since: date | None = None) -> list[Invoice]:
        records, grouped = self.invoice_records(since)
        found = FeedMapper(self.feed, self.display_name).invoices(records, grouped=grouped)
        if since is None:
            return found
        return [inv for inv in found if inv.issue_date is None or inv.issue_date >= since]

    def contacts(self) -> list[Contact]:
        if not self.supports(Capability.CONTACTS):
            raise self._unsupported(Capability.CONTACTS)
        return FeedMapper(self.feed, self.display_name).contacts(self._fetch("contacts"))

    def items(self) -> list[Item]:
        if not self.supports(Capability.ITEMS):
            raise self._unsupported(Capability.ITEMS)
        return FeedMapper(self.feed, self.display_name).items(self._fetch("items"))
