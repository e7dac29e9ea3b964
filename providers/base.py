"""The provider protocol: one small base class every external system's module subclasses.

A subclass sets its class attributes (``system``, ``capabilities``, default URLs and limits,
the :class:`Rules` its data must follow), implements the reads and writes its API supports,
and overrides two hooks: ``error_for`` (its error envelope -> a :mod:`providers.errors`
exception) and ``rate_status`` (its rate-limit headers). A capability it lacks stays
unimplemented and raises ``Unsupported``: declared, never faked.

For exactly-once pushes (the action engine in ``actions/`` builds on these, for every
destination): :meth:`Provider.find_invoice` / :meth:`Provider.find_invoices` look invoices up by
number exactly and cheaply (a filtered query, never a full listing, where the API has a filter),
and :meth:`Provider.push_invoices` pushes many invoices, in the API's batch requests where it has
them (``batch_size`` per request), answering one :class:`PushOutcome` per invoice. These were
added in round 2; a provider that overrides none of them still works through the defaults
(``find_invoice`` then reads every invoice, and says so in the log; ``push_invoices`` pushes one
at a time).

A provider keeps no state across calls but the tenant it resolved. Two per-run helpers are
lent to it by whoever owns the run: ``fan_out`` (the runner's executor, for reads that do not
depend on each other) and ``memo`` (the check side's per-run memo, so a list one read needs,
such as QuickBooks' items for invoice lines, is fetched once per run and shared with the
checks). Without them a provider works serially and fetches what each call needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import httpx

from config.sources import FeedConfig
from providers.errors import (
    AuthError,
    ConnectFailed,
    ProviderError,
    RateLimited,
    TenantError,
    Unavailable,
    Unsupported,
)
from providers.fanout import SERIAL, FanOut
from providers.http import ApiClient, CallStats, LimitKey, Limits, RetryPolicy, timeout_for
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
    # Middleware (providers.middleware): the flow carrying invoices between the two sides.
    FLOW = "flow"  # the scenario / Zap: on or off, schedule
    FLOW_RUNS = "flow_runs"  # recent runs and their errors
    INCOMPLETE_RUNS = "incomplete_runs"  # runs stored for someone to resolve
    FLOW_CONNECTIONS = "flow_connections"  # the app accounts the flow logs in with
    USAGE = "usage"  # units used of the plan


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a system lives. ``base_url`` replaces scheme and host only: paths stay the API's."""

    base_url: str
    token_url: str | None = None
    authorize_url: str | None = None
    identity_url: str | None = None  # Xero's connections endpoint host, Intuit's entitlements host...

    def with_overrides(self, overrides: Mapping[str, str | None]) -> Endpoints:
        """These endpoints with the configured ones in their place.

        A ``base_url`` outside the vendor's own domain is a stand-in for the whole API (the
        sandbox's emulators, a proxy, a test double), which serves every endpoint on its one
        host: the token, identity and authorize URLs not given follow it, keeping the real
        paths. A ``base_url`` on the vendor's domain (Intuit's sandbox-quickbooks host) moves
        the API only; the vendor's token service stays where it is."""
        base = overrides.get("base_url")
        follows = bool(base) and not same_vendor(base or "", self.base_url)

        def pick(key: str, current: str | None) -> str | None:
            given = overrides.get(key)
            if given:
                return given
            if follows and current:
                return on_host(current, base or "")
            return current

        return Endpoints(
            base_url=overrides.get("base_url") or self.base_url,
            token_url=pick("token_url", self.token_url),
            authorize_url=pick("authorize_url", self.authorize_url),
            identity_url=pick("identity_url", self.identity_url),
        )


@lru_cache(maxsize=4096)  # asked for each side of every run: a sweep's few hosts, parsed once
def _host(url: str) -> str:
    return (httpx.URL(url).host or "").lower()


def same_vendor(url: str, vendor_url: str) -> bool:
    """``url`` is on the domain of ``vendor_url`` (its last two labels: ``intuit.com``)."""
    vendor = ".".join(_host(vendor_url).split(".")[-2:])
    host = _host(url)
    return bool(vendor) and (host == vendor or host.endswith("." + vendor))


def on_host(url: str, base: str) -> str:
    """``url``'s path (and query) on ``base``'s scheme, host and port."""
    target, where = httpx.URL(url), httpx.URL(base)
    return str(target.copy_with(scheme=where.scheme, host=where.host, port=where.port))


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
    # Does the system tell item codes apart by case ("PROD-1" vs "prod-1")? None: not known.
    item_code_case_sensitive: bool | None = None

    def address_required(self, country: str | None) -> bool:
        return (country or "").upper() in self.address_required_in


@dataclass(frozen=True, slots=True)
class Consent:
    """What a consent redirect says besides the code, as a provider reads it."""

    tenant: str | None = None  # the tenant the user chose on the consent screen (MYOB's businessId)
    tenant_name: str | None = None
    token_url: str | None = None  # where to exchange the code, when the redirect names it (Zoho)
    extra: Mapping[str, str] = field(default_factory=dict)  # kept with the tokens (Credentials.extra)


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
class PushOutcome:
    """What became of one invoice of :meth:`Provider.push_invoices`.

    ``result`` set: the invoice is in the destination (``result.created`` False when it was
    already there and was adopted, not pushed again). ``error`` set: it is not, and ``sent``
    says whether the system may have acted on it. A ``Rejected`` error is the system refusing
    this invoice (``details`` carry its messages). ``sent=False``: the system did not act on it
    (refused at the door, throttled, never connected, or the push stopped before it): push it
    again as is. A transient error with ``sent`` True (a timeout, a 5xx) leaves the outcome
    unknown: look the invoice up before pushing it again.
    """

    invoice: Invoice
    result: WriteResult | None = None
    error: ProviderError | None = None
    sent: bool = True

    @property
    def landed(self) -> bool:
        return self.result is not None


# Errors that say nothing about one invoice but about the connection or the system: a push
# stops at them instead of sending the rest into the same wall.
STOPPING_ERRORS: tuple[type[ProviderError], ...] = (AuthError, TenantError, RateLimited, Unavailable)


def may_have_acted(error: ProviderError) -> bool:
    """Whether the system may have acted on a request that ended in ``error``: not when it
    refused it at the door (auth, tenant), throttled it, or the connection never opened."""
    return not isinstance(error, (AuthError, TenantError, RateLimited, ConnectFailed))


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
    timeout: float | None = None  # seconds to wait for an answer (None: providers.http's default)
    feed: FeedConfig | None = None  # how a generic / job-app source is read (YAML `feed:`, presets applied)


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
    scope_separator: ClassVar[str] = " "  # how the consent URL joins scopes
    consent_params: ClassVar[Mapping[str, str]] = {}  # extra authorize parameters (offline access...)
    # The tenant may require its own user sign-in beside the token (Credentials.extra
    # ``tenant_user`` / ``tenant_password``: MYOB's company-file credentials).
    tenant_login: ClassVar[bool] = False
    rules: ClassVar[Rules] = Rules()
    batch_size: ClassVar[int] = 1  # invoices per request push_invoices sends (the API's batch limit)

    # -- the consent and the token endpoint, before any instance exists ---------------------

    @classmethod
    def read_consent(cls, params: Mapping[str, str], endpoints: Endpoints, configured_tenant: str | None) -> Consent:
        """Read the consent redirect's parameters; raise a ``ProviderError`` (with words for the
        person who consented) when the redirect cannot be accepted."""
        return Consent()

    @classmethod
    def token_error(cls, status: int, payload: Mapping[str, Any]) -> ProviderError | None:
        """The system's own reading of a token-endpoint answer (None: the OAuth defaults apply,
        ``invalid_grant`` & co. meaning a dead refresh token)."""
        return None

    @classmethod
    def token_extra(cls, payload: Mapping[str, Any]) -> Mapping[str, str]:
        """What a token response says that must be kept with the tokens (``Credentials.extra``)."""
        return {}

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

    @classmethod
    def endpoints_for(cls, overrides: Mapping[str, str | None], environment: str | None = None) -> Endpoints:
        """Where this system lives for one side: the defaults under the configured overrides
        (a system whose hosts depend on the environment overrides this)."""
        return cls.default_endpoints.with_overrides(overrides)

    def _make_client(self, base_url: str) -> ApiClient:
        return ApiClient(
            self.system,
            base_url,
            auth_headers=self.auth_headers,
            error_for=self.error_for,
            stats=self.stats,
            limiter_keys=self._limiter_keys(),
            rate_reader=self.rate_status,
            on_unauthorized=self.refresh_after_401 if self.auth_kind != "api_key" else None,
            retry=self.options.retry,
            timeout=timeout_for(self.options.timeout),
            transport=self.options.transport,
        )

    def close(self) -> None:
        self.api.close()

    def refresh_after_401(self) -> None:
        """Called once when a request answers 401 on a token believed valid: refresh it."""
        self.tokens.force_refresh()

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

    def blind_spots(self) -> tuple[str, ...]:
        """What this system (as configured) does not expose that a check would need, in the
        report's words ("whether each invoice was sent to Xero"); capabilities cover the rest."""
        return ()

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
        """The sales invoice whose number is exactly ``number`` (case and spaces as given), or
        None. The look-up that makes a push exactly-once: before every push, and after a push
        whose answer was lost. Providers override it with the API's filter (one cheap call);
        this default reads every invoice, for a system that has no filter."""
        logger.info("%s has no invoice-number filter: reading every invoice to find %r", self.display_name, number)
        for invoice in self.invoices():
            if invoice.number == number:
                return invoice
        return None

    def find_invoices(self, numbers: Iterable[str]) -> dict[str, Invoice]:
        """``find_invoice`` for many numbers: number -> invoice, for those found. Providers whose
        filter takes a list answer it in as few calls as the API allows."""
        found: dict[str, Invoice] = {}
        for number in dict.fromkeys(numbers):
            invoice = self.find_invoice(number)
            if invoice is not None:
                found[number] = invoice
        return found

    # -- writes (each idempotent) ---------------------------------------------------------

    def push_invoice(self, invoice: Invoice, *, idempotency_key: str) -> WriteResult:
        """Create (or update) ``invoice`` whose contact and item ids are the destination's."""
        raise self._unsupported(Capability.PUSH_INVOICE)

    def push_invoices(
        self, invoices: Sequence[Invoice], idempotency_key_for: Callable[[Invoice], str]
    ) -> list[PushOutcome]:
        """Push many invoices; one :class:`PushOutcome` per invoice, in the order given.

        ``idempotency_key_for(invoice)`` is the caller's stable key for that invoice's push (the
        action engine stores it before sending): a repeat of the same call replays rather than
        duplicates, on systems with idempotency keys. Invoices already in the destination (by
        number) are adopted, not pushed. This default pushes one invoice per request and stops
        at an error that is not about the invoice (see :class:`PushOutcome`); providers whose
        API takes many invoices per request override it.
        """
        outcomes: list[PushOutcome] = []
        for index, invoice in enumerate(invoices):
            try:
                result = self.push_invoice(invoice, idempotency_key=idempotency_key_for(invoice))
            except STOPPING_ERRORS as e:
                outcomes.append(PushOutcome(invoice, error=e, sent=may_have_acted(e)))
                outcomes.extend(PushOutcome(rest, error=e, sent=False) for rest in invoices[index + 1 :])
                return outcomes
            except ProviderError as e:
                outcomes.append(PushOutcome(invoice, error=e))
            else:
                outcomes.append(PushOutcome(invoice, result=result))
        return outcomes

    def create_item(self, item: Item, *, idempotency_key: str) -> WriteResult:
        raise self._unsupported(Capability.CREATE_ITEM)

    def create_contact(self, contact: Contact, *, idempotency_key: str) -> WriteResult:
        raise self._unsupported(Capability.CREATE_CONTACT)
