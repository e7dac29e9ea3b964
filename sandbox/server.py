"""Serve emulators over real HTTP on loopback, in-process (tests, demo) or until stopped (CLI).

``Sandbox(world).start()`` starts one uvicorn server per system named in the world, each on
a free 127.0.0.1 port, and exposes each system's base URL; ``stop()`` shuts them down and
waits, so nothing is left behind.
"""

from __future__ import annotations

import importlib
import logging
import re
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from sandbox.base import Emulator
from sandbox.clock import SandboxClock

logger = logging.getLogger(__name__)

EMULATORS: dict[str, str] = {
    "xero": "sandbox.xero.XeroEmulator",
    "quickbooks": "sandbox.quickbooks.QuickBooksEmulator",
    "hubspot": "sandbox.hubspot.HubSpotEmulator",
    "stripe": "sandbox.stripe.StripeEmulator",
    "zoho_books": "sandbox.zoho_books.ZohoBooksEmulator",
    "myob": "sandbox.myob.MyobEmulator",
}


def emulator_class(system: str) -> type[Emulator]:
    try:
        dotted = EMULATORS[system]
    except KeyError:
        raise ValueError(f"no emulator for {system!r}; available: {', '.join(sorted(EMULATORS))}") from None
    module_name, _, class_name = dotted.rpartition(".")
    cls: type[Emulator] = getattr(importlib.import_module(module_name), class_name)
    return cls


_RELATIVE = re.compile(r"\{(date|datetime):([+-]?\d+)\}")


def resolve_relative_dates(text: str, today: date | None = None) -> str:
    """``{date:-3}`` -> the date three days ago, ``{datetime:-3}`` -> that day 09:00 UTC, so a
    world keeps its story (an invoice unsynced for 3 days) whenever it is loaded."""
    base = today or datetime.now(UTC).date()

    def sub(match: re.Match[str]) -> str:
        day = base + timedelta(days=int(match.group(2)))
        return day.isoformat() if match.group(1) == "date" else f"{day.isoformat()}T09:00:00Z"

    return _RELATIVE.sub(sub, text)


def load_world(path: str | Path) -> dict[str, Any]:
    """A world file is YAML (JSON is YAML too): top-level keys are system names."""
    text = resolve_relative_dates(Path(path).read_text(encoding="utf-8"))
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a world file must be a mapping of system name -> world section")
    return data


class LoopbackServer:
    """One ASGI app served by uvicorn in a daemon thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn writes a response's head and body separately; with Nagle on, a small body
        # waits for the client's delayed ACK (~40 ms a request on Linux). Accepted sockets
        # inherit this option from the listening one.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class Sandbox:
    """Every emulator of a world, each on its own loopback port."""

    def __init__(self, world: Mapping[str, Any], ports: Mapping[str, int] | None = None) -> None:
        self.world = world
        self.clock = SandboxClock()
        self.emulators: dict[str, Emulator] = {}
        self._servers: dict[str, LoopbackServer] = {}
        self._ports = dict(ports or {})
        for system, section in world.items():
            if system.startswith("_") or system in ("integrations", "demo"):
                continue  # metadata keys of demo worlds, not systems
            self.emulators[system] = emulator_class(system)(section or {}, self.clock)

    def start(self) -> Sandbox:
        try:
            for system, emulator in self.emulators.items():
                self._servers[system] = LoopbackServer(emulator.app, self._ports.get(system, 0)).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()

    def url(self, system: str) -> str:
        return self._servers[system].url

    def overrides(self, system: str) -> dict[str, str]:
        """Endpoint overrides that point a provider of ``system`` at its emulator."""
        url = self.url(system)
        token_path = self.emulators[system].token_path
        found = {"base_url": url, "identity_url": url, "authorize_url": url + self.emulators[system].authorize_path}
        if token_path:
            found["token_url"] = url + token_path
        return found

    @property
    def urls(self) -> dict[str, str]:
        return {system: server.url for system, server in self._servers.items()}

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
