from __future__ import annotations

import io
import logging

from config.logging import REDACTED, quiet_slack_payloads, redact, scrub_slack, setup_logging

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


def test_slack_payloads_are_cut_from_slack_library_lines() -> None:
    url = "https://hooks.slack.com/commands/T0001/1234/AbCdEf"
    cases = {
        f"Sending a request - url: {url}, body: {{'text': 'Acme owes 40.00'}}, headers: {{}}": (
            "Sending a request - url: https://hooks.slack.com/[omitted], body: [omitted]"
        ),
        "Invalid request signature detected (signature: v0=1, timestamp: 1, body: token=x&text=acme)": (
            "Invalid request signature detected (signature: [omitted]"
        ),
        'Responding with status: 200 body: "{"text": "Checking acme"}" (3 millis)': (
            "Responding with status: 200 body: [omitted]"
        ),
        "Sending a request - url: https://slack.com/api/chat.postMessage, query_params: {}, json_body: {}": (
            "Sending a request - url: https://slack.com/api/chat.postMessage, query_params: [omitted]"
        ),
        f"Going to retry the same request: POST {url}": "Going to retry the same request: POST https://hooks.slack.com/[omitted]",
        "Checking listener: on_open ...": "Checking listener: on_open ...",
    }
    for line, scrubbed in cases.items():
        assert scrub_slack(line) == scrubbed


def test_slack_payloads_are_cut_at_the_source_whatever_the_handler() -> None:
    quiet_slack_payloads()
    stream = io.StringIO()
    plain = logging.StreamHandler(stream)  # not ours: no filter of its own
    sdk = logging.getLogger("slack_sdk.webhook.client")
    sdk.addHandler(plain)
    level = sdk.level
    sdk.setLevel(logging.DEBUG)
    try:
        sdk.debug("Sending a request - url: %s, body: %s", "https://hooks.slack.com/actions/T1/2/secret", "{}")
        logging.getLogger("our.own").warning("body: stays in lines that are not Slack's")
    finally:
        sdk.removeHandler(plain)
        sdk.setLevel(level)
    assert stream.getvalue() == "Sending a request - url: https://hooks.slack.com/[omitted], body: [omitted]\n"
