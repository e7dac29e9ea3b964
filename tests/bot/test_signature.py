"""Slack's request signature, checked as Slack specifies it (api.slack.com/authentication/verifying-requests-from-slack)."""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier

from bot.signature import WINDOW_S, Refused, Verified, verify
from sandbox.slack.signing import sign as sign_text

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070"
NOW = 1531420618


def sign(body: bytes, timestamp: int, secret: str) -> str:
    return sign_text(body.decode(), timestamp, secret)


def headers(ts: str, sig: str) -> dict[str, str]:
    return {"x-slack-request-timestamp": ts, "x-slack-signature": sig}


def test_slacks_own_example_verifies() -> None:
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=str(NOW), body=BODY.decode())
    assert sign(BODY, NOW, SECRET) == expected
    verdict = verify(headers(str(NOW), expected or ""), BODY, SECRET, NOW)
    assert verdict == Verified(expected[3:] if expected else "", NOW)
    assert isinstance(verdict, Verified) and verdict.replayable_until == NOW + WINDOW_S


def test_the_window_is_five_minutes_either_way() -> None:
    good = sign(BODY, NOW, SECRET)
    assert isinstance(verify(headers(str(NOW), good), BODY, SECRET, NOW + WINDOW_S), Verified)
    assert isinstance(verify(headers(str(NOW), good), BODY, SECRET, NOW - WINDOW_S), Verified)
    late = verify(headers(str(NOW), good), BODY, SECRET, NOW + WINDOW_S + 1)
    early = verify(headers(str(NOW), good), BODY, SECRET, NOW - WINDOW_S - 1)
    assert late == early == Refused("timestamp is more than five minutes from now")


def test_every_refusal_names_its_reason_and_never_raises() -> None:
    good = sign(BODY, NOW, SECRET)
    cases = {
        "signature or timestamp header missing": [{}, {"x-slack-signature": good}],
        "timestamp header is not a number of seconds": [
            headers(t, good) for t in ("", "abc", f"+{NOW}", f"{NOW}.0", "1_531_420_618", " 1", "9" * 13)
        ],
        "signature header is not v0=<64 hex digits>": [
            headers(str(NOW), s) for s in ("", good[3:], good.upper(), good + "0", "v1=" + good[3:])
        ],
        "signature does not match": [
            headers(str(NOW), sign(BODY, NOW, "other")),
            headers(str(NOW), sign(BODY + b"&x=1", NOW, SECRET)),
        ],
    }
    for reason, attempts in cases.items():
        for attempt in attempts:
            assert verify(attempt, BODY, SECRET, NOW) == Refused(reason), attempt
    assert verify(headers(str(NOW), good), BODY + b" ", SECRET, NOW) == Refused("signature does not match")
