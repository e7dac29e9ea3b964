from __future__ import annotations

import io
import logging

from config.logging import REDACTED, redact, setup_logging

SECRETS = [
    "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
    "key sk_live_51HxYzAbCdEfGh used",
    "restricted rk_test_51HxYzAbCdEf",
    "slack xoxb-1234-5678-abcdefgh",
    "hubspot pat-na1-11111111-2222-3333",
    'token response {"access_token": "at-abc123xyz", "refresh_token": "rt-zzz999"}',
    "POST body grant_type=refresh_token&refresh_token=rt-secret-value&client_secret=shh-123",
]


def test_known_secret_shapes_are_redacted() -> None:
    for line in SECRETS:
        cleaned = redact(line)
        assert REDACTED in cleaned, line
        for secret in (
            "eyJhbGci",
            "sk_live_51",
            "rk_test_51",
            "xoxb-1234",
            "pat-na1-111",
            "at-abc123",
            "rt-zzz",
            "rt-secret",
            "shh-123",
        ):
            assert secret not in cleaned, (line, cleaned)


def test_log_lines_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = setup_logging("INFO", stream)
    log = logging.getLogger("sync_doctor.test")
    try:
        log.info("calling with %s", "Bearer abcdefghijklmnop")
        try:
            raise RuntimeError("refresh failed for refresh_token=rt-leaky-token")
        except RuntimeError:
            log.exception("token refresh crashed")
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert "abcdefghijklmnop" not in output and "rt-leaky-token" not in output
    assert output.count(REDACTED) >= 2
    assert "token refresh crashed" in output and "RuntimeError" in output
