"""The provider protocol: one small base class every external system's module subclasses.

A subclass sets its class attributes (``system``, ``capabilities``, default URLs and limits,
the :class:`Rules` its data must follow), implements the reads and writes its API supports,
and overrides two hooks: ``error_for`` (its error envelope -> a :mod:`providers.errors`
exception) and ``rate_status`` (its rate-limit headers). A capability it lacks stays
unimplemented and raises ``Unsupported``: declared, never faked.

A provider keeps no state across calls but the tenant it resolved. Two per-run helpers are
lent to it by whoever owns the run: ``fan_out`` (the runner's executor, for reads that do not
depend on each other) and ``memo`` (the check side's per-run memo, so a list one read needs,
such as QuickBooks' items for invoice lines, is fetched once per run and shared with the
checks). Without them a provider works serially and fetches what each call needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import ClassVar, Literal, Protocol, TypeVar

import httpx

from providers.errors import ProviderError, Unsupported
from providers.fanout import SERIAL, FanOut
from providers.http import ApiClient, CallStats, LimitKey, Limits, RetryPolicy
from providers.oauth import OAuthApp, TokenManager
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Feature,
    Invoice,
    Item,
    OrgInfo,
    Payment,
    RateStatus,
    TaxRate,
    TrackingCategory,
    WriteResult,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Capability(StrEnum):
    ORG = "org"
    CONTACTS = "contacts"
    ITEMS = "items"
    INVOICES = "invoices"
    ACCOUNTS = "accounts"
    TAX_RATES = "tax_rates"
    TRACKING = "tracking"
    PAYMENTS = "payments"
    PLAN = "plan"  # exposes its plan / features
    LOCK_DATE = "lock_date"
    SCOPES = "scopes"  # reports granted scopes / permissions
    PUSH_INVOICE = "push_invoice"
    CREATE_ITEM = "create_item"
    CREATE_CONTACT = "create_contact"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a system lives. ``base_url`` replaces scheme and host only: paths stay the API's."""

    base_url: str
    token_url: str | None = None
    authorize_url: str | None = None
    identity_url: str | None = None  # Xero's connections endpoint host, Intuit's entitlements host...

    def with_overrides(self, overrides: Mapping[str, str | None]) -> Endpoints:
        def pick(key: str, current: str | None) -> str | None:
            return overrides.get(key) or current

        return Endpoints(
            base_url=overrides.get("base_url") or self.base_url,
            token_url=pick("token_url", self.token_url),
            authorize_url=pick("authorize_url", self.authorize_url),
            identity_url=pick("identity_url", self.identity_url),
        )


@dataclass(frozen=True, slots=True)
class Rules:
    """What a system accepts of the records synced into it; ``None`` means no known limit.

    Checks judge data bound for a system against its rules (an over-long contact name, a SKU
    too long for an item code). The defaults accept anything: a system overrides only what it
    documents (sources in each provider's class attribute).
    """

    contact_name_max: int | None = None
    contact_name_forbidden: str = ""  # characters rejected in a contact's name
    unique_contact_names: bool = False  # a second active contact of the same name is refused
    # Countries whose companies need a full billing address on each customer (sales tax).
    address_required_in: frozenset[str] = frozenset()
    item_code_max: int | None = None
    item_name_max: int | None = None

    def address_required(self, country: str | None) -> bool:
        return (country or "").upper() in self.address_required_in


class Memo(Protocol):
    """Keeps what a provider reads for the length of one run (``checks.context.SideData``)."""

    def once(self, key: str, load: Callable[[], T]) -> T:
        """``load()`` the first time ``key`` is asked for in this run; the same value after."""
        ...

    def forget(self, key: str) -> None:
        """Drop ``key`` (a write made what was read stale)."""
        ...


class NoMemo:
    """The memo of a provider outside a run: every read is fetched when asked."""

    def once(self, key: str, load: Callable[[], T]) -> T:
        return load()

    def forget(self, key: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Everything a provider instance needs, built by ``providers.get_provider``."""

    tenant: str | None  # the configured tenant / realm / portal / account id
    endpoints: Endpoints
    limits: Limits
    environment: str | None = None  # "live" / "test": what the integration is meant to use
    oauth_app: OAuthApp | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None
    page_size: int | None = None  # override the API's maximum page size (tests, benchmarks)
    extra: Mapping[str, str] = field(default_factory=dict)  # system-specific options (YAML `options:`)


class Provider:
    """Base class of every provider. Read methods return records; writes are idempotent."""

    system: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    default_endpoints: ClassVar[Endpoints]
    default_limits: ClassVar[Limits] = Limits()
    auth_kind: ClassVar[Literal["oauth2", "api_key", "either"]] = "oauth2"
    scopes_needed: ClassVar[tuple[str, ...]] = ()  # scopes a full check + actions require
    refresh_token_lifetime: ClassVar[timedelta | None] = None  # e.g. Xero: 60 days unused
    # Plan features whose presence OrgInfo.features reports reliably; absence of any other
    # feature means "cannot tell", never "missing".
    plan_features: ClassVar[frozenset[Feature]] = frozenset()
    client_auth: ClassVar[Literal["basic", "post"]] = "basic"
    supports_pkce: ClassVar[bool] = True
    rules: ClassVar[Rules] = Rules()

    def __init__(
        self,
        options: ProviderOptions,
        tokens: TokenManager,
        stats: CallStats,
        *,
        fan_out: FanOut = SERIAL,
        memo: Memo | None = None,
    ) -> None:
        self.options = options
        self.tokens = tokens
        self.stats = stats
        self.fan_out = fan_out  # the runner lends its per-run executor here
        self.memo: Memo = memo if memo is not None else NoMemo()  # a check side lends its run memo here
        self.api = self._make_client(options.endpoints.base_url)

    # -- plumbing -------------------------------------------------------------------------

    def _limiter_keys(self) -> tuple[LimitKey, ...]:
        """The limits every request pays: per tenant, and per app across all tenants."""
        limits = self.options.limits
        return (
            LimitKey((self.system, "tenant", self._tenant_key()), limits.concurrent, limits.per_minute),
            LimitKey((self.system, "app"), per_window=limits.app_per_minute),
        )

    def _tenant_key(self) -> str:
        return self.options.tenant or "default"

    def _make_client(self, base_url: str) -> ApiClient:
        return ApiClient(
            self.system,
            base_url,
            auth_headers=self.auth_headers,
            error_for=self.error_for,
            stats=self.stats,
            limiter_keys=self._limiter_keys(),
            rate_reader=self.rate_status,
            on_unauthorized=self.tokens.force_refresh if self.auth_kind != "api_key" else None,
            retry=self.options.retry,
            transport=self.options.transport,
        )

    def close(self) -> None:
        self.api.close()

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.tokens.access_token()}", "Accept": "application/json"}

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Map the system's error envelope to a typed error with its own code and message."""
        return ProviderError(f"HTTP {response.status_code}", system=self.system, status=response.status_code)

    def rate_status(self, response: httpx.Response) -> RateStatus | None:
        """Read the system's rate-limit headers, if it sends any."""
        return None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, what: Capability) -> Unsupported:
        return Unsupported(f"{self.display_name} does not expose {what.value}", system=self.system)

    # -- reads ----------------------------------------------------------------------------

    def probe(self) -> ConnectionInfo:
        """One cheap authenticated call: which tenant the credentials reach, granted scopes."""
        raise self._unsupported(Capability.ORG)

    def org_info(self) -> OrgInfo:
        raise self._unsupported(Capability.ORG)

    def contacts(self) -> list[Contact]:
        """Every contact / customer, archived ones included (flagged ``archived``)."""
        raise self._unsupported(Capability.CONTACTS)

    def items(self) -> list[Item]:
        """Every item / product, inactive ones included (flagged ``active=False``)."""
        raise self._unsupported(Capability.ITEMS)

    def invoices(self, since: date | None = None) -> list[Invoice]:
        """Sales invoices, all pages; only those dated or modified on/after ``since`` if given."""
        raise self._unsupported(Capability.INVOICES)

    def accounts(self) -> list[Account]:
        raise self._unsupported(Capability.ACCOUNTS)

    def tax_rates(self) -> list[TaxRate]:
        raise self._unsupported(Capability.TAX_RATES)

    def tracking_categories(self) -> list[TrackingCategory]:
        raise self._unsupported(Capability.TRACKING)

    def payments(self, since: date | None = None) -> list[Payment]:
        raise self._unsupported(Capability.PAYMENTS)

    def find_invoice(self, number: str) -> Invoice | None:
        """The invoice with this number, or None. Used to make pushes idempotent by look-up."""
        for invoice in self.invoices():
            if invoice.number == number:
                return invoice
        return None

    # -- writes (each idempotent) ---------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create (or update) ``invoice`` whose contact and item ids are the destination's."""
        raise self._unsupported(Capability.PUSH_INVOICE)

    def push_invoices(
        self, invoices: Sequence[Invoice], *, idempotency_key_for: Callable[[Invoice], str]
    ) -> list[WriteResult | ProviderError]:
        """Create each of ``invoices`` as :meth:`push_invoice` does; one answer per invoice, in
        order: its WriteResult, or the ProviderError that refused it. This default sends them one
        by one; a system with a batch endpoint overrides it (many invoices per request)."""
        results: list[WriteResult | ProviderError] = []
        for invoice in invoices:
            try:
                results.append(self.push_invoice(invoice, idempotency_key=idempotency_key_for(invoice)))
            except ProviderError as e:
                results.append(e)
        return results

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        raise self._unsupported(Capability.CREATE_ITEM)

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        raise self._unsupported(Capability.CREATE_CONTACT)
