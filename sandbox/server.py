"""Serve emulators over real HTTP on loopback, in-process (tests, demo) or until stopped (CLI).

``Sandbox(world).start()`` starts one uvicorn server per system named in the world, each on
a free 127.0.0.1 port, and exposes each system's base URL; ``stop()`` shuts them down and
waits, so nothing is left behind.

A world file a person wrote can be wrong in many ways: not YAML, a section for a system there
is no emulator for, a value of the wrong kind deep in a section. Each ends in a
:class:`WorldError` naming the file, the section and the problem (the ``sandbox`` command exits
2 with it), never in a traceback; a port that is taken is a :class:`PortUnavailable`.
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
    "make": "sandbox.make.MakeEmulator",
    "zapier": "sandbox.zapier.ZapierEmulator",
    "jobapp": "sandbox.jobapp.JobAppEmulator",
    "aroflo": "sandbox.aroflo.AroFloEmulator",
}


# Top-level keys of a world that are not systems: the demo's integrations, and notes ("_...").
NOT_SYSTEMS = frozenset({"demo", "integrations"})


class SandboxError(Exception):
    """A sandbox that cannot start, phrased for the person starting it."""


class WorldError(SandboxError):
    pass


class PortUnavailable(SandboxError):
    pass


def world_systems(world: Mapping[str, Any]) -> list[str]:
    """The systems a world has sections for, in order."""
    return sorted(str(k) for k in world if k not in NOT_SYSTEMS and not str(k).startswith("_"))


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
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorldError(f"{path}: no such world file") from None
    except UnicodeDecodeError as e:
        raise WorldError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x}): save it as UTF-8") from None
    except OSError as e:
        raise WorldError(f"{path}: cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(resolve_relative_dates(text)) or {}
    except OverflowError:
        raise WorldError(f"{path}: a relative date ({{date:N}} or {{datetime:N}}) is too far away") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise WorldError(f"{path}:{where} not valid YAML: {getattr(e, 'problem', e)}") from None
    except ValueError as e:  # a date YAML recognises but the calendar has not (2026-13-45)
        raise WorldError(f"{path}: not a valid date: {e}") from None
    if not isinstance(data, dict):
        raise WorldError(f"{path}: a world file is a mapping of system name -> world section")
    check_world(data, source=str(path))
    return data


def emulator_of(system: str, section: Any) -> str:
    """Which emulator serves a section: its own name, or the one it names with ``emulator:``
    (a second organisation of a system on its own port, e.g. a demo's second Xero)."""
    named = section.get("emulator") if isinstance(section, Mapping) else None
    return str(named) if named else system


def check_world(world: Mapping[str, Any], *, source: str = "world") -> None:
    """Every system section names a system with an emulator and is a mapping."""
    for system in world_systems(world):
        if emulator_of(system, world[system]) not in EMULATORS:
            raise WorldError(
                f"{source}: unknown section {system!r}: a world has one section per system "
                f"({', '.join(sorted(EMULATORS))}), plus demo and notes starting with _"
            )
        if world[system] is not None and not isinstance(world[system], Mapping):
            raise WorldError(f"{source}: section {system} must be a mapping, not {type(world[system]).__name__}")


# What a section's loader raises on a value it cannot use: a missing key, a value of the wrong
# kind, a number out of range. Emulators read their sections as the real APIs' JSON, without
# a schema of their own; this turns those into a message naming the section.
_SECTION_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


def _emulator(system: str, section: Mapping[str, Any], clock: SandboxClock, source: str) -> Emulator:
    cls = emulator_class(emulator_of(system, section))
    refusals: tuple[type[Exception], ...] = (*_SECTION_ERRORS, *cls.load_errors)
    try:
        return cls({k: v for k, v in section.items() if k != "emulator"}, clock)
    except refusals as e:
        if isinstance(e, KeyError):
            problem = f"a required key {e.args[0]!r} is missing"
        elif isinstance(e, (TypeError, AttributeError)):
            problem = f"a value has the wrong kind ({e})"
        else:
            problem = str(e) or type(e).__name__
        raise WorldError(
            f"{source}: section {system}: {problem}. Its keys are documented in sandbox/{system}/__init__.py"
        ) from None


class LoopbackServer:
    """One ASGI app served by uvicorn in a daemon thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn writes a response's head and body separately; with Nagle on, a small body
        # waits for the client's delayed ACK (~40 ms a request on Linux). Accepted sockets
        # inherit this option from the listening one.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.bind(("127.0.0.1", port))
        except OSError as e:
            self._sock.close()
            raise PortUnavailable(f"port {port} on 127.0.0.1 is not available ({e.strerror})") from None
        self.port: int = self._sock.getsockname()[1]
        # log_config=None: uvicorn's records go through the process's logging (one format),
        # not handlers of its own printing in its own format.
        config = uvicorn.Config(
            app, log_config=None, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
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

    def __init__(
        self, world: Mapping[str, Any], ports: Mapping[str, int] | None = None, *, source: str = "world"
    ) -> None:
        self.world = world
        self.clock = SandboxClock()
        self.emulators: dict[str, Emulator] = {}
        self._servers: dict[str, LoopbackServer] = {}
        self._ports = dict(ports or {})
        check_world(world, source=source)
        for system in world_systems(world):
            self.emulators[system] = _emulator(system, world[system] or {}, self.clock, source)

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
        """Endpoint overrides that point a provider of ``system`` at its emulator: every URL a
        config needs for it (an API-key system has only ``base_url``)."""
        url = self.url(system)
        token_path = self.emulators[system].token_path
        if not token_path:
            return {"base_url": url}
        return {
            "base_url": url,
            "identity_url": url,
            "token_url": url + token_path,
            "authorize_url": url + self.emulators[system].authorize_path,
        }

    @property
    def urls(self) -> dict[str, str]:
        return {system: server.url for system, server in self._servers.items()}

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
