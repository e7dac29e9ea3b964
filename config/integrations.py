"""The integrations file (``SYNC_DOCTOR_CONFIG``): YAML -> frozen dataclasses, strictly.

Every error names the file, the key path and what is wrong, e.g.
``sync-doctor.yml: integrations.acme.destination.system: unknown system 'xeroo'; supported: ...``.
Unknown keys are errors too: a typo must not silently disable a setting; so is a key given twice
(YAML would let the last one win silently).

Which systems a side may name is not this module's to know: the caller passes the providers
registry's keys (``systems``), so registering a provider is all it takes to make a system
configurable, and a system without one is refused here rather than when a command needs it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml

from config.schedules import Schedules

if TYPE_CHECKING:
    from config.middleware import MiddlewareConfig
    from config.sources import FeedConfig
DIRECTIONS = ("source_to_destination", "destination_to_source", "both", "none")
STATUSES = ("draft", "open", "paid", "void")
ENVIRONMENTS = ("live", "test")
URL_KEYS = ("base_url", "token_url", "authorize_url", "identity_url")
# Upper bounds: beyond them a value is a typo, and date arithmetic would overflow.
WINDOW_DAYS_MAX = 3660  # ten years of invoices compared
STALE_AFTER_HOURS_MAX = 8784  # a year without a synced invoice
LIMIT_MAX = {"concurrent": 100, "per_minute": 1_000_000, "app_per_minute": 1_000_000}


class ConfigError(ValueError):
    """A configuration problem, already phrased for the operator."""


@dataclass(frozen=True, slots=True)
class SideConfig:
    system: str
    tenant: str | None = None
    environment: str | None = None
    urls: Mapping[str, str] = field(default_factory=dict)  # base_url / token_url / authorize_url / identity_url
    limits: Mapping[str, int] = field(default_factory=dict)  # concurrent / per_minute / app_per_minute
    name: str | None = None  # the expected organisation name, when configured
    options: Mapping[str, str] = field(default_factory=dict)  # system-specific (e.g. Stripe sku_metadata_key)
    scopes: tuple[str, ...] = ()  # OAuth scopes to ask for and check (empty: the provider's defaults)
    timeout_seconds: float | None = None  # how long to wait for an answer (None: 30 s)
    feed: FeedConfig | None = None  # job-app sources: how invoices are read (config/sources.py)


@dataclass(frozen=True, slots=True)
class SyncSettings:
    enabled: bool = True
    direction: str = "source_to_destination"
    statuses: tuple[str, ...] = ("open", "paid")
    since: date | None = None
    until: date | None = None
    skip_sources: tuple[str, ...] = ()
    auto_sync_sales: bool = True
    auto_sync_purchases: bool = True
    currency: str | None = None
    stale_after_hours: int = 48  # dead man's switch: no invoice landed for this long
    window_days: int = 30  # how far back checks compare both sides when no ``since`` is set


@dataclass(frozen=True, slots=True)
class Mappings:
    accounts: Mapping[str, str] = field(default_factory=dict)  # source account code -> destination code
    tax: Mapping[str, str] = field(default_factory=dict)  # source tax code -> destination tax type/code
    tracking: Mapping[str, str] = field(default_factory=dict)  # source category -> destination category
    currencies: Mapping[str, str] = field(default_factory=dict)
    default_account: str | None = None
    default_tax: str | None = None


@dataclass(frozen=True, slots=True)
class IntegrationSlack:
    channel: str | None = None
    ephemeral: bool = False


@dataclass(frozen=True, slots=True)
class IntegrationConfig:
    name: str
    source: SideConfig
    destination: SideConfig
    settings: SyncSettings = SyncSettings()
    mappings: Mappings = Mappings()
    requires: tuple[str, ...] = ()
    slack: IntegrationSlack = IntegrationSlack()
    middleware: MiddlewareConfig | None = None  # the Make scenario / Zap in between (config/middleware.py)

    def side(self, which: str) -> SideConfig:
        if which == "source":
            return self.source
        if which == "destination":
            return self.destination
        if which == "middleware" and self.middleware is not None:
            return self.middleware.side_config()
        raise ValueError(f"side must be 'source' or 'destination', not {which!r}")


@dataclass(frozen=True, slots=True)
class SlackConfig:
    admins: tuple[str, ...] = ()  # user ids (U...) or user-group ids (S...)
    digest_channel: str | None = None
    alert_channel: str | None = None
    allowed_channels: tuple[str, ...] = ()  # empty = any channel
    allowed_users: tuple[str, ...] = ()  # empty = anyone
    allow_self_approval: bool = False
    approval_ttl_hours: int = 24  # an approval request not decided by then expires
    approvals_channel: str | None = None  # where approval requests post; None: the alert channel


@dataclass(frozen=True, slots=True)
class AppConfig:
    integrations: Mapping[str, IntegrationConfig]
    slack: SlackConfig = SlackConfig()
    timezone: str = "UTC"
    path: str | None = None
    schedules: Schedules = field(default_factory=Schedules)  # when the scheduled jobs run (config/schedules.py)

    def get(self, name: str) -> IntegrationConfig | None:
        return self.integrations.get(name.strip().lower())


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML with two differences. Dates stay text: ``since: 2026-13-45`` reaches the key's
    own validation (a message naming it) instead of failing inside the parser, and a date and
    time cannot pass for a date. A key given twice in one mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first on line {first})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_config(path: str | Path, *, systems: Collection[str] | None = None) -> AppConfig:
    """The integrations file at ``path``; ``systems``: the systems a side may name."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found (set SYNC_DOCTOR_CONFIG or create it; see README)") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a file (set SYNC_DOCTOR_CONFIG to the YAML file)") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{p}: line {line} is not UTF-8 text (byte 0x{raw[e.start]:02x}): save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: constructs no Python objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}:{where} not valid YAML: {getattr(e, 'problem', e)}") from None
    return parse_config(data if data is not None else {}, source=str(p), systems=systems)


def parse_config(data: Any, *, source: str = "<config>", systems: Collection[str] | None = None) -> AppConfig:
    """``data`` (as YAML parsed it) validated into an :class:`AppConfig`. ``systems``: the
    systems a side may name, the providers registry's keys (None: any name, for callers that
    validate systems themselves)."""
    reader = _Reader(source, tuple(sorted(systems)) if systems is not None else None)
    root = reader.mapping(data, "", {"slack", "integrations", "timezone", "schedules"})
    slack = _slack(reader, root.get("slack"), "slack")
    from config.schedules import parse_overrides, parse_schedules

    schedules = parse_schedules(reader, root.get("schedules"), "schedules")
    overrides: dict[str, Any] = {}
    integrations_raw = reader.mapping(root.get("integrations", {}), "integrations", None)
    integrations: dict[str, IntegrationConfig] = {}
    spelled: dict[str, str] = {}
    for raw_name, body in integrations_raw.items():
        name = str(raw_name).strip().lower()
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            reader.fail(f"integrations.{raw_name}", "names use letters, digits, '-' and '_' only")
        if name in spelled:
            reader.fail(
                f"integrations.{raw_name}",
                f"the same name as integrations.{spelled[name]} (names ignore case): rename one of them",
            )
        spelled[name] = str(raw_name)
        if isinstance(body, Mapping) and "schedules" in body:
            body = dict(body)
            override = parse_overrides(reader, body.pop("schedules"), f"integrations.{raw_name}.schedules", schedules)
            if override:
                overrides[name] = override
        integrations[name] = _integration(reader, name, body, f"integrations.{raw_name}")
    tz = root.get("timezone", "UTC")
    if not isinstance(tz, str):
        reader.fail("timezone", "must be an IANA time zone name such as Australia/Sydney")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except (KeyError, ValueError, OSError):  # not found, malformed, or unreadable as a path
        reader.fail("timezone", f"unknown time zone {tz!r}")
    return AppConfig(
        integrations=integrations,
        slack=slack,
        timezone=tz,
        path=source,
        schedules=replace(schedules, overrides=overrides),
    )


class _Reader:
    def __init__(self, source: str, systems: tuple[str, ...] | None = None) -> None:
        self.source = source
        self.systems = systems

    def fail(self, path: str, message: str) -> NoReturn:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{self.source}: {where}{message}")

    def mapping(self, value: Any, path: str, allowed: set[str] | None) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"must be a mapping, not {type(value).__name__}")
        mapping: Mapping[str, Any] = value
        if allowed is not None:
            unknown = sorted(str(k) for k in mapping if k not in allowed)
            if unknown:
                self.fail(path, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        return mapping

    def string(
        self, value: Any, path: str, *, required: bool = False, choices: tuple[str, ...] | None = None
    ) -> str | None:
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(path, f"must be a string, not {type(value).__name__}")
        text = str(value).strip()
        if choices is not None and text not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}, not {text!r}")
        return text

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.fail(path, f"must be true or false, not {value!r}")

    def integer(self, value: Any, path: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            if maximum is None or value <= maximum:
                return value
            self.fail(path, f"must be at most {maximum}, not {value!r}")
        self.fail(path, f"must be a whole number >= {minimum}, not {value!r}")

    def strings(self, value: Any, path: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, "must be a list")
        return tuple(self.string(v, f"{path}[{i}]", required=True, choices=choices) or "" for i, v in enumerate(value))

    def string_map(self, value: Any, path: str) -> dict[str, str]:
        mapping = self.mapping(value, path, None)
        return {str(k): self.string(v, f"{path}.{k}", required=True) or "" for k, v in mapping.items()}

    def day(self, value: Any, path: str) -> date | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            self.fail(path, f"must be a date YYYY-MM-DD, not a date and time ({value.isoformat()})")
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:  # fromisoformat also takes 20260101 and 2026-W01-1: only YYYY-MM-DD here
                return date.fromisoformat(text)
        except ValueError as e:
            self.fail(path, f"must be a date YYYY-MM-DD, not {value!r} ({e})")
        hint = " (a date and time? give the day only)" if len(text) > 10 and text[:10].count("-") == 2 else ""
        self.fail(path, f"must be a date YYYY-MM-DD, not {value!r}{hint}")


def _slack(r: _Reader, value: Any, path: str) -> SlackConfig:
    m = r.mapping(
        value,
        path,
        {
            "admins",
            "digest_channel",
            "alert_channel",
            "allowed_channels",
            "allowed_users",
            "allow_self_approval",
            "approval_ttl_hours",
            "approvals_channel",
        },
    )
    admins = r.strings(m.get("admins"), f"{path}.admins")
    for i, admin in enumerate(admins):
        if admin[:1] not in ("U", "W", "S"):
            r.fail(f"{path}.admins[{i}]", f"{admin!r} is neither a user id (U…/W…) nor a user-group id (S…)")
    return SlackConfig(
        admins=admins,
        digest_channel=r.string(m.get("digest_channel"), f"{path}.digest_channel"),
        alert_channel=r.string(m.get("alert_channel"), f"{path}.alert_channel"),
        allowed_channels=r.strings(m.get("allowed_channels"), f"{path}.allowed_channels"),
        allowed_users=r.strings(m.get("allowed_users"), f"{path}.allowed_users"),
        allow_self_approval=r.boolean(m.get("allow_self_approval"), f"{path}.allow_self_approval", False),
        approval_ttl_hours=r.integer(m.get("approval_ttl_hours"), f"{path}.approval_ttl_hours", 24, minimum=1),
        approvals_channel=r.string(m.get("approvals_channel"), f"{path}.approvals_channel"),
    )


def _side(r: _Reader, value: Any, path: str) -> SideConfig:
    m = r.mapping(
        value,
        path,
        {
            "system",
            "tenant",
            "environment",
            "name",
            "limits",
            "options",
            "scopes",
            "timeout_seconds",
            "feed",
            *URL_KEYS,
        },
    )
    if not m:
        r.fail(path, "is required (system, tenant, ...)")
    system = r.string(m.get("system"), f"{path}.system", required=True) or ""
    if r.systems is not None and system not in r.systems:
        r.fail(f"{path}.system", f"unknown system {system!r}; supported: {', '.join(r.systems)}")
    urls: dict[str, str] = {}
    for key in URL_KEYS:
        url = r.string(m.get(key), f"{path}.{key}")
        if url is not None:
            if not url.startswith(("http://", "https://")):
                r.fail(f"{path}.{key}", f"must be an http(s) URL, not {url!r}")
            urls[key] = url.rstrip("/")
    limits_raw = r.mapping(m.get("limits"), f"{path}.limits", {"concurrent", "per_minute", "app_per_minute"})
    limits = {k: r.integer(v, f"{path}.limits.{k}", 0, minimum=1, maximum=LIMIT_MAX[k]) for k, v in limits_raw.items()}
    timeout = m.get("timeout_seconds")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600
    ):
        r.fail(f"{path}.timeout_seconds", f"must be a number of seconds above 0 and at most 600, not {timeout!r}")
    return SideConfig(
        feed=_feed(r, system, m, urls, path),
        system=system,
        tenant=r.string(m.get("tenant"), f"{path}.tenant"),
        environment=r.string(m.get("environment"), f"{path}.environment", choices=ENVIRONMENTS),
        urls=urls,
        limits=limits,
        name=r.string(m.get("name"), f"{path}.name"),
        options=r.string_map(m.get("options"), f"{path}.options"),
        scopes=r.strings(m.get("scopes"), f"{path}.scopes"),
        timeout_seconds=float(timeout) if timeout is not None else None,
    )


def _feed(r: _Reader, system: str, m: Mapping[str, Any], urls: Mapping[str, str], path: str) -> FeedConfig | None:
    """The job-app feed of a ``generic`` or preset source (config/sources.py)."""
    from config.sources import JOB_APP_SYSTEMS, parse_feed

    if system not in JOB_APP_SYSTEMS:
        if "feed" in m:
            r.fail(f"{path}.feed", f"is for job-app sources ({', '.join(JOB_APP_SYSTEMS)}), not {system}")
        return None
    feed = parse_feed(r, m.get("feed"), f"{path}.feed", system)
    if system == "generic" and feed.endpoints and "base_url" not in urls:
        r.fail(f"{path}.base_url", "is required: the address of the app's API (endpoint paths are relative to it)")
    return feed


def _settings(r: _Reader, value: Any, path: str) -> SyncSettings:
    m = r.mapping(
        value,
        path,
        {
            "enabled",
            "direction",
            "statuses",
            "since",
            "until",
            "skip_sources",
            "auto_sync",
            "currency",
            "stale_after_hours",
            "window_days",
        },
    )
    auto = r.mapping(m.get("auto_sync"), f"{path}.auto_sync", {"sales", "purchases"})
    statuses = (
        r.strings(m.get("statuses"), f"{path}.statuses", choices=STATUSES) if "statuses" in m else ("open", "paid")
    )
    since, until = r.day(m.get("since"), f"{path}.since"), r.day(m.get("until"), f"{path}.until")
    if since and until and until < since:
        r.fail(f"{path}.until", f"{until} is before since ({since})")
    return SyncSettings(
        enabled=r.boolean(m.get("enabled"), f"{path}.enabled", True),
        direction=r.string(m.get("direction"), f"{path}.direction", choices=DIRECTIONS) or "source_to_destination",
        statuses=statuses,
        since=since,
        until=until,
        skip_sources=r.strings(m.get("skip_sources"), f"{path}.skip_sources"),
        auto_sync_sales=r.boolean(auto.get("sales"), f"{path}.auto_sync.sales", True),
        auto_sync_purchases=r.boolean(auto.get("purchases"), f"{path}.auto_sync.purchases", True),
        currency=r.string(m.get("currency"), f"{path}.currency"),
        stale_after_hours=r.integer(
            m.get("stale_after_hours"), f"{path}.stale_after_hours", 48, minimum=1, maximum=STALE_AFTER_HOURS_MAX
        ),
        window_days=r.integer(m.get("window_days"), f"{path}.window_days", 30, minimum=1, maximum=WINDOW_DAYS_MAX),
    )


def _mappings(r: _Reader, value: Any, path: str) -> Mappings:
    m = r.mapping(value, path, {"accounts", "tax", "tracking", "currencies", "default_account", "default_tax"})
    return Mappings(
        accounts=r.string_map(m.get("accounts"), f"{path}.accounts"),
        tax=r.string_map(m.get("tax"), f"{path}.tax"),
        tracking=r.string_map(m.get("tracking"), f"{path}.tracking"),
        currencies=r.string_map(m.get("currencies"), f"{path}.currencies"),
        default_account=r.string(m.get("default_account"), f"{path}.default_account"),
        default_tax=r.string(m.get("default_tax"), f"{path}.default_tax"),
    )


def _integration(r: _Reader, name: str, value: Any, path: str) -> IntegrationConfig:
    m = r.mapping(
        value, path, {"source", "destination", "settings", "mappings", "requires", "slack", "middleware", "schedules"}
    )
    if "source" not in m:
        r.fail(f"{path}.source", "is required")
    if "destination" not in m:
        r.fail(f"{path}.destination", "is required")
    slack = r.mapping(m.get("slack"), f"{path}.slack", {"channel", "ephemeral"})
    return IntegrationConfig(
        name=name,
        source=_side(r, m["source"], f"{path}.source"),
        destination=_side(r, m["destination"], f"{path}.destination"),
        settings=_settings(r, m.get("settings"), f"{path}.settings"),
        mappings=_mappings(r, m.get("mappings"), f"{path}.mappings"),
        requires=r.strings(m.get("requires"), f"{path}.requires"),
        slack=IntegrationSlack(
            channel=r.string(slack.get("channel"), f"{path}.slack.channel"),
            ephemeral=r.boolean(slack.get("ephemeral"), f"{path}.slack.ephemeral", False),
        ),
        middleware=_middleware(r, m.get("middleware"), f"{path}.middleware"),
    )


def _middleware(r: _Reader, value: Any, path: str) -> MiddlewareConfig | None:
    if value is None:
        return None
    from config.middleware import parse_middleware

    return parse_middleware(r, value, path)
