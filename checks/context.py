"""What checks read: one integration's two sides, each resource fetched once per run.

Checks run concurrently; :class:`SideData` memoises each read behind a per-resource lock, so
the first check to ask for the source's invoices fetches them and every other check waiting
for them gets the same list (or the same ``ProviderError``). The side lends the same memo to
its provider (:class:`providers.base.Memo`), so a list a provider needs for another read
(QuickBooks' items to resolve invoice lines) is the one the checks get, fetched once.
``SideData.preloaded`` builds a side from records already in hand: unit tests of pure check
logic give data directly instead of faking a system.

What the side's system *is* (display name, :class:`providers.base.Rules`) comes from the
provider registry by system key, so it is known even when the provider could not be built.

An integration with a Make scenario or a Zap in between has a third side,
:class:`MiddlewareSide`, reading the middleware's flow, runs, incomplete runs, connections and
usage the same way (``RunContext.middleware``; ``RunContext.all_sides()`` includes it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self, TypeVar

from config.integrations import IntegrationConfig, SideConfig
from providers import display_name as display_name  # re-exported: bot/ reaches providers through checks
from providers import rules_for
from providers.base import Capability, Provider, Rules
from providers.credentials import Credentials
from providers.errors import ProviderError, Unsupported
from providers.flows import Flow, FlowConnection, FlowRun, IncompleteRun, Usage
from providers.middleware import Middleware
from providers.records import (
    Account,
    ConnectionInfo,
    Contact,
    Invoice,
    Item,
    OrgInfo,
    Payment,
    RateStatus,
    TaxRate,
    TrackingCategory,
)

T = TypeVar("T")

RESOURCE_CAPABILITIES: dict[str, Capability] = {
    "probe": Capability.ORG,
    "org": Capability.ORG,
    "contacts": Capability.CONTACTS,
    "items": Capability.ITEMS,
    "invoices": Capability.INVOICES,
    "accounts": Capability.ACCOUNTS,
    "tax_rates": Capability.TAX_RATES,
    "tracking": Capability.TRACKING,
    "payments": Capability.PAYMENTS,
}
# How far back a middleware side's runs are read: a day of a 15-minute schedule and more.
RUNS_LOOKBACK = timedelta(days=2)
# What a middleware side (a Make scenario, a Zap) reads instead.
MIDDLEWARE_CAPABILITIES: dict[str, Capability] = {
    "flow": Capability.FLOW,
    "flow_runs": Capability.FLOW_RUNS,
    "incomplete_runs": Capability.INCOMPLETE_RUNS,
    "flow_connections": Capability.FLOW_CONNECTIONS,
    "usage": Capability.USAGE,
}


@dataclass
class ConnectionState:
    """What the store knows about one side's connection (not what the system says)."""

    state: str = "active"  # active | requires_reauth | grace_period | disconnected | pending_credits
    last_error: str | None = None
    credentials: Credentials | None = None


class _Memo:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


class SideData:
    """One side of an integration as the checks see it."""

    RESOURCES: dict[str, Capability] = RESOURCE_CAPABILITIES  # what this kind of side reads

    def __init__(
        self,
        side: str,
        config: SideConfig,
        provider: Provider | None,
        *,
        since: date | None = None,
        connection: ConnectionState | None = None,
    ) -> None:
        self.side = side
        self.config = config
        self.system = config.system
        self.display_name = display_name(config.system)
        self.rules: Rules = rules_for(config.system)
        self.provider = provider
        self.since = since
        self.connection = connection or ConnectionState()
        self._memos: dict[str, _Memo] = {}
        self._memos_lock = threading.Lock()
        self._preloaded: dict[str, Any] = {}
        self._capabilities: frozenset[Capability] | None = None
        if provider is not None:
            provider.memo = self  # one memo per side and run, shared by the checks and the provider

    @classmethod
    def preloaded(
        cls,
        side: str,
        config: SideConfig,
        *,
        capabilities: frozenset[Capability] | None = None,
        connection: ConnectionState | None = None,
        **resources: Any,
    ) -> Self:
        """A side whose resources are given (``org=OrgInfo(...)``, ``invoices=[...]``)."""
        unknown = set(resources) - set(cls.RESOURCES) - {"rate"}
        if unknown:
            raise TypeError(f"unknown resources {sorted(unknown)}")
        data = cls(side, config, None, connection=connection)
        data._preloaded = dict(resources)
        data._capabilities = (
            capabilities
            if capabilities is not None
            else frozenset(cls.RESOURCES[name] for name in resources if name in cls.RESOURCES)
        )
        return data

    def supports(self, capability: Capability) -> bool:
        if self._capabilities is not None:
            return capability in self._capabilities
        return self.provider is not None and self.provider.supports(capability)

    def _get(self, name: str, fetch: Callable[[Provider], T]) -> T:
        if name in self._preloaded:
            value: T = self._preloaded[name]
            return value
        provider = self.provider
        if provider is None:
            raise Unsupported(f"{self.display_name} gave no {name} for this run", system=self.system)
        return self.once(name, lambda: fetch(provider))

    def once(self, key: str, load: Callable[[], T]) -> T:
        """``load()`` once per run for ``key``; every caller, concurrent or later, gets its
        value or its ``ProviderError``. The provider's own reads share these entries."""
        if key in self._preloaded:
            value: T = self._preloaded[key]
            return value
        with self._memos_lock:
            memo = self._memos.setdefault(key, _Memo())
        with memo.lock:
            if not memo.done:
                try:
                    memo.value = load()
                except ProviderError as e:
                    memo.error = e
                memo.done = True
        if memo.error is not None:
            raise memo.error
        result: T = memo.value
        return result

    def forget(self, key: str) -> None:
        """Drop ``key``: a write made it stale, the next read fetches it again."""
        with self._memos_lock:
            self._memos.pop(key, None)

    # Each reader below is fetched at most once per run, whichever check asks first.

    def probe(self) -> ConnectionInfo:
        return self._get("probe", lambda p: p.probe())

    def org(self) -> OrgInfo:
        return self._get("org", lambda p: p.org_info())

    def contacts(self) -> list[Contact]:
        return self._get("contacts", lambda p: p.contacts())

    def items(self) -> list[Item]:
        return self._get("items", lambda p: p.items())

    def invoices(self) -> list[Invoice]:
        return self._get("invoices", lambda p: p.invoices(since=self.since))

    def accounts(self) -> list[Account]:
        return self._get("accounts", lambda p: p.accounts())

    def tax_rates(self) -> list[TaxRate]:
        return self._get("tax_rates", lambda p: p.tax_rates())

    def tracking(self) -> list[TrackingCategory]:
        return self._get("tracking", lambda p: p.tracking_categories())

    def payments(self) -> list[Payment]:
        return self._get("payments", lambda p: p.payments(since=self.since))

    def warm(self, name: str) -> None:
        """Fetch one resource ahead of the checks that will ask for it; an error is memoised
        for them to report."""
        if name not in self.RESOURCES or not self.supports(self.RESOURCES[name]):
            return
        try:
            getattr(self, name)()
        except ProviderError:
            pass

    def rate_status(self) -> RateStatus:
        if "rate" in self._preloaded:
            status: RateStatus = self._preloaded["rate"]
            return status
        if self.provider is None:
            return RateStatus()
        return self.provider.stats.rate_status(self.system)

    def fetched(self) -> dict[str, Any]:
        """Resources fetched successfully so far (what the provider memoised for itself left out)."""
        found = dict(self._preloaded)
        for name, memo in list(self._memos.items()):
            if name in self.RESOURCES and memo.done and memo.error is None:
                found[name] = memo.value
        return found


class MiddlewareSide(SideData):
    """The middle of an integration (``integration.middleware``): a Make scenario or a Zap.
    Its reads are memoised like a side's; ``since`` bounds the runs read."""

    RESOURCES = MIDDLEWARE_CAPABILITIES

    def __init__(
        self,
        side: str,
        config: SideConfig,
        provider: Provider | None,
        *,
        since: date | None = None,
        connection: ConnectionState | None = None,
        runs_since: datetime | None = None,
        setup_error: ProviderError | None = None,
    ) -> None:
        super().__init__(side, config, provider, since=since, connection=connection)
        self.runs_since = runs_since or datetime.now(UTC) - RUNS_LOOKBACK
        self.setup_error = setup_error  # why no provider could be built (e.g. nothing connected)

    def _middleware(self, provider: Provider) -> Middleware:
        if not isinstance(provider, Middleware):
            raise Unsupported(f"{self.display_name} is not middleware", system=self.system)
        return provider

    def flow(self) -> Flow | None:
        return self._get("flow", lambda p: self._middleware(p).flow())

    def flow_runs(self) -> list[FlowRun]:
        return self._get("flow_runs", lambda p: self._middleware(p).flow_runs(self.runs_since))

    def incomplete_runs(self) -> list[IncompleteRun]:
        return self._get("incomplete_runs", lambda p: self._middleware(p).incomplete_runs())

    def flow_connections(self) -> list[FlowConnection]:
        return self._get("flow_connections", lambda p: self._middleware(p).flow_connections())

    def usage(self) -> Usage:
        return self._get("usage", lambda p: self._middleware(p).usage())


@dataclass
class History:
    """What the store knows of earlier runs and actions that checks need."""

    last_synced_at: datetime | None = None  # newest destination invoice seen landing, any run
    failed_actions: list[dict[str, Any]] = field(default_factory=list)  # permanently failed syncs


@dataclass
class RunContext:
    integration: IntegrationConfig
    source: SideData
    destination: SideData
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    history: History = field(default_factory=History)
    middleware: MiddlewareSide | None = None  # the Make scenario / Zap in between, when configured

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def window_start(self) -> date:
        """Oldest invoice date the checks consider: ``since`` or ``window_days`` back."""
        settings = self.integration.settings
        return settings.since or (self.today - timedelta(days=settings.window_days))

    def sides(self) -> tuple[SideData, SideData]:
        return (self.source, self.destination)

    def side(self, name: str) -> SideData:
        if name == "middleware" and self.middleware is not None:
            return self.middleware
        return self.source if name == "source" else self.destination

    def all_sides(self) -> tuple[SideData, ...]:
        """Source, destination and, when configured, the middleware in between."""
        return self.sides() + ((self.middleware,) if self.middleware is not None else ())
