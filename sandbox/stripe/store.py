"""Stripe's side in memory: API keys, accounts with their objects, and the requests received."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
KINDS = ("customers", "products", "prices", "tax_rates", "invoices", "invoiceitems")


@dataclass
class ApiKey:
    key: str = field(repr=False)
    account: str
    livemode: bool
    restricted: bool
    revoked: bool = False
    expired: bool = False
    permissions: frozenset[str] | None = None  # None = all


@dataclass
class AccountData:
    """One Stripe account: its settings (the world's mapping) and its objects by kind and id."""

    id: str
    raw: dict[str, Any]
    created: int
    store: dict[str, dict[str, Obj]] = field(default_factory=lambda: {kind: {} for kind in KINDS})
    ordered: dict[str, list[Obj]] = field(default_factory=dict)  # kind -> newest first (cache)
    _seq: int = 0

    def add(self, kind: str, obj: Obj) -> Obj:
        self._seq += 1
        obj["_seq"] = self._seq
        self.store[kind][obj["id"]] = obj
        self.ordered.pop(kind, None)
        return obj

    def newest_first(self, kind: str) -> list[Obj]:
        # Stripe lists newest first; the insertion sequence breaks ties within one second.
        if kind not in self.ordered:
            self.ordered[kind] = sorted(
                self.store[kind].values(), key=lambda o: (o["created"], o["_seq"]), reverse=True
            )
        return self.ordered[kind]


@dataclass
class Ctx:
    """Who is calling: the key and the account it belongs to."""

    key: ApiKey
    account: AccountData

    @property
    def livemode(self) -> bool:
        return self.key.livemode


@dataclass
class Received:
    """One request as the emulator saw it (the contract test checks these against the spec)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str] = field(repr=False)
