"""The client-side rolling window keeps a call's place until a full window after its answer:
the system counted it somewhere between the request and the answer."""

from __future__ import annotations

from providers.http import RateLimiter


def test_a_place_frees_a_window_after_the_answer_not_the_start() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(None, 2, window=1.0, clock=lambda: now[0], sleep=sleep)
    with limiter.slot():  # starts at 0, answered at 0.5
        now[0] = 0.5
    now[0] = 0.6
    with limiter.slot():  # starts and is answered at 0.6
        pass
    now[0] = 1.1  # a window after the first call's start, not after its answer
    with limiter.slot():
        started = now[0]
    assert started == 1.5
