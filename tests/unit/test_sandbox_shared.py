"""The emulators' shared machinery: the registry, the clock, rolling windows, saved answers."""

from __future__ import annotations

import pytest

from sandbox.base import Emulator, seconds_text
from sandbox.clock import SandboxClock
from sandbox.idempotency import IdempotencyCache
from sandbox.limits import RollingWindow
from sandbox.server import EMULATORS, emulator_class


@pytest.mark.parametrize("system", sorted(EMULATORS))
def test_every_registered_emulator_loads_and_serves_its_system(system: str) -> None:
    cls = emulator_class(system)
    assert issubclass(cls, Emulator) and cls.system == system
    assert cls({}).app is not None  # an empty world section is a valid (empty) world


def test_an_unknown_system_names_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match=f"no emulator for 'not-a-system'; available: {', '.join(sorted(EMULATORS))}$"):
        emulator_class("not-a-system")


def test_the_clock_moves_when_a_test_advances_it() -> None:
    clock = SandboxClock()
    before = clock.moment()
    clock.advance(3600)
    assert (clock.moment() - before).total_seconds() >= 3600
    assert clock.moment().tzinfo is not None


def test_a_rolling_window_forgets_calls_older_than_its_span() -> None:
    window = RollingWindow(10)
    for t in (100.0, 101.0, 105.0):
        window.add(t)
    assert window.used(105.0) == 3
    assert window.within(105.5, 1) == 1  # only the call at 105 is inside the last second
    assert window.wait(105.0) == 5.0  # the call at 100 leaves the window at 110
    assert window.used(110.0) == 2 and len(window) == 2
    assert window.used(200.0) == 0 and window.wait(200.0) == 0.0


def test_saved_answers_are_kept_per_slot_until_their_time_is_up() -> None:
    clock = SandboxClock()
    cache = IdempotencyCache(clock, ttl=360)
    cache.put(("acme", "key-1"), "PUT /Invoices {...}", 200, b'{"ok":true}')
    saved = cache.get(("acme", "key-1"))
    assert saved is not None and saved.fingerprint == "PUT /Invoices {...}"
    assert saved.response().body == b'{"ok":true}' and saved.response().status_code == 200
    assert cache.get(("globex", "key-1")) is None  # the same key in another tenant is another slot
    clock.advance(361)
    assert cache.get(("acme", "key-1")) is None


def test_answers_without_a_lifetime_are_kept() -> None:
    clock = SandboxClock()
    cache = IdempotencyCache(clock)
    cache.put("k", "f", 400, b"{}")
    clock.advance(10**9)
    assert cache.get("k") is not None


@pytest.mark.parametrize(("seconds", "text"), [(2.0, "2"), (2.5, "2.5"), (0, "0")])
def test_retry_after_is_written_as_headers_carry_it(seconds: float, text: str) -> None:
    assert seconds_text(seconds) == text
