"""The ``middleware:`` block of an integration: the Make scenario or Zapier Zap in between.

    middleware: {system: make, scenario_id: 1229, organization_id: 21, zone: eu1.make.com}
    middleware: {system: zapier, zap_id: "00000000-0000-c000-8000-000000012345", plan: professional}

Credentials come from ``sync-doctor connect NAME middleware ...`` (a Make API token with
``--api-key``; a Zapier user access token with ``--access-token``), stored like the other sides.

Make: ``zone`` is the host of the organisation's dashboard (``eu1.make.com``, ``us2.make.com``,
``eu1.make.celonis.com``: any host, Make's own list is "examples"); ``connection_ids`` names the
Make connections the scenario uses when its blueprint does not say; ``verify_connections``
asks Make to re-check them (``POST /connections/{id}/test`` needs a token with
``connections:write``). Zapier: ``zap_id`` is the id ``/v2/zaps`` lists; ``runs_zap_id`` the
numeric id ``/v2/zap-runs`` filters on (the two are not documented to be derivable from each
other; an all-digit ``zap_id`` is used for both); ``plan`` (free / professional / team /
enterprise) gives the polling interval, which Zapier's API does not expose; ``poll_minutes``
overrides it for a trigger set to poll at another pace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.integrations import SideConfig, _Reader

MIDDLEWARE_SYSTEMS = ("make", "zapier")
ZAPIER_PLANS = ("free", "professional", "team", "enterprise")
URL_KEYS = ("base_url", "token_url", "authorize_url")


@dataclass(frozen=True, slots=True)
class MiddlewareConfig:
    system: str
    scenario_id: str | None = None  # make
    organization_id: str | None = None  # make
    zone: str | None = None  # make: the host, e.g. eu1.make.com
    connection_ids: tuple[str, ...] = ()  # make
    verify_connections: bool = False  # make
    zap_id: str | None = None  # zapier
    runs_zap_id: str | None = None  # zapier
    plan: str | None = None  # zapier
    poll_minutes: int | None = None  # zapier (or an override for either)
    urls: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def flow_id(self) -> str:
        return (self.scenario_id if self.system == "make" else self.zap_id) or ""

    def side_config(self) -> SideConfig:
        """The middleware as a side the provider factory builds a provider for: its options
        travel in ``SideConfig.options`` (strings, as every provider option does)."""
        from config.integrations import SideConfig

        options = {
            "scenario_id": self.scenario_id,
            "zone": self.zone,
            "connection_ids": ",".join(self.connection_ids) or None,
            "verify_connections": "true" if self.verify_connections else None,
            "zap_id": self.zap_id,
            "runs_zap_id": self.runs_zap_id,
            "plan": self.plan,
            "poll_minutes": str(self.poll_minutes) if self.poll_minutes else None,
        }
        urls = dict(self.urls)
        if self.system == "make" and self.zone and "base_url" not in urls:
            urls["base_url"] = f"https://{self.zone}"
        return SideConfig(
            system=self.system,
            tenant=self.organization_id if self.system == "make" else self.zap_id,
            urls=urls,
            limits=dict(self.limits),
            options={k: v for k, v in options.items() if v is not None},
        )


def parse_middleware(r: _Reader, value: Any, path: str) -> MiddlewareConfig:
    allowed = {
        "system",
        "scenario_id",
        "organization_id",
        "zone",
        "connection_ids",
        "verify_connections",
        "zap_id",
        "runs_zap_id",
        "plan",
        "poll_minutes",
        "limits",
        *URL_KEYS,
    }
    m = r.mapping(value, path, allowed)
    system = r.string(m.get("system"), f"{path}.system", required=True, choices=MIDDLEWARE_SYSTEMS) or ""
    make_keys = {"scenario_id", "organization_id", "zone", "connection_ids", "verify_connections"}
    zapier_keys = {"zap_id", "runs_zap_id", "plan"}
    foreign = sorted(k for k in m if k in (zapier_keys if system == "make" else make_keys))
    if foreign:
        what = "is not a" if len(foreign) == 1 else "are not"
        r.fail(path, f"{', '.join(foreign)} {what} {system} setting{'s' if len(foreign) > 1 else ''}")
    urls: dict[str, str] = {}
    for key in URL_KEYS:
        url = r.string(m.get(key), f"{path}.{key}")
        if url is not None:
            if not url.startswith(("http://", "https://")):
                r.fail(f"{path}.{key}", f"must be an http(s) URL, not {url!r}")
            urls[key] = url.rstrip("/")
    limits_raw = r.mapping(m.get("limits"), f"{path}.limits", {"concurrent", "per_minute", "app_per_minute"})
    limits = {k: r.integer(v, f"{path}.limits.{k}", 0, minimum=1) for k, v in limits_raw.items()}
    poll = m.get("poll_minutes")
    config = MiddlewareConfig(
        system=system,
        scenario_id=r.string(m.get("scenario_id"), f"{path}.scenario_id"),
        organization_id=r.string(m.get("organization_id"), f"{path}.organization_id"),
        zone=_zone(r, m.get("zone"), f"{path}.zone"),
        connection_ids=r.strings(m.get("connection_ids"), f"{path}.connection_ids"),
        verify_connections=r.boolean(m.get("verify_connections"), f"{path}.verify_connections", False),
        zap_id=r.string(m.get("zap_id"), f"{path}.zap_id"),
        runs_zap_id=r.string(m.get("runs_zap_id"), f"{path}.runs_zap_id"),
        plan=r.string(m.get("plan"), f"{path}.plan", choices=ZAPIER_PLANS),
        poll_minutes=r.integer(poll, f"{path}.poll_minutes", 0, minimum=1) if poll is not None else None,
        urls=urls,
        limits=limits,
    )
    if system == "make":
        for key in ("scenario_id", "organization_id"):
            if getattr(config, key) is None:
                r.fail(f"{path}.{key}", "is required for Make (both are in the scenario's URL in Make)")
        if config.zone is None and "base_url" not in urls:
            r.fail(f"{path}.zone", "is required for Make: the host of your Make dashboard, e.g. eu1.make.com")
        for key in ("scenario_id", "organization_id"):
            if not str(getattr(config, key)).isdigit():
                r.fail(f"{path}.{key}", f"must be Make's numeric id, not {getattr(config, key)!r}")
    elif config.zap_id is None:
        r.fail(f"{path}.zap_id", "is required for Zapier: the Zap's id as Zapier's API lists it")
    if config.runs_zap_id is not None and not config.runs_zap_id.isdigit():
        r.fail(
            f"{path}.runs_zap_id", f"must be the numeric Zap id Zapier's run history uses, not {config.runs_zap_id!r}"
        )
    return config


def _zone(r: _Reader, value: Any, path: str) -> str | None:
    zone = r.string(value, path)
    if zone is None:
        return None
    host = zone.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if "." not in host:
        r.fail(path, f"must be a host such as eu1.make.com (as in your Make dashboard's address), not {zone!r}")
    return host
