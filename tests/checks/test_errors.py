"""ProviderError -> finding, with real error instances from providers/errors.py."""

from __future__ import annotations

import pytest

from checks.catalog import CATALOG
from checks.errors import finding_for_error
from checks.findings import Severity, dedupe
from providers.errors import (
    CredentialsMissing,
    NotFound,
    ProviderError,
    RateLimited,
    RefreshFailed,
    Rejected,
    ScopeMissing,
    TenantError,
    TokenExpired,
    TokenRevoked,
    Unavailable,
    UnexpectedResponse,
    WrongEnvironment,
)
from tests.checks.contexts import config, side
from tests.checks.records import api_key, oauth

CFG = config("stripe", "quickbooks", destination_side={"tenant": "9130350000000001", "name": "Acme Pty Ltd"})


def qbo():
    return side("destination", CFG, credentials=oauth())


def stripe():
    return side("source", CFG, credentials=api_key("rk_live_abc"))


@pytest.mark.parametrize(
    ("error", "code", "severity", "reauth"),
    [
        (
            TokenExpired("ApplicationAuthenticationFailed", system="quickbooks", code="3200", status=401),
            "token.expired",
            Severity.FAIL,
            True,
        ),
        (TokenRevoked("token revoked", system="quickbooks", status=401), "token.revoked", Severity.FAIL, True),
        (
            RefreshFailed("Invalid refresh token", system="quickbooks", code="invalid_grant", status=400),
            "token.refresh_failed",
            Severity.FAIL,
            True,
        ),
        (
            ScopeMissing(
                "scope missing", system="quickbooks", needed=("com.intuit.quickbooks.accounting",), status=403
            ),
            "token.scope_missing",
            Severity.FAIL,
            True,
        ),
        (
            CredentialsMissing("no credentials are stored", system="quickbooks"),
            "connection.disconnected",
            Severity.FAIL,
            True,
        ),
        (
            TenantError("AuthorizationFailure: -11014", system="quickbooks", code="120", status=403),
            "connection.wrong_tenant",
            Severity.FAIL,
            True,
        ),
        (
            RateLimited("Throttle exceeded", system="quickbooks", retry_after=60, limit="minute", status=429),
            "rate.limited",
            Severity.ERROR,
            False,
        ),
        (Unavailable("HTTP 503", system="quickbooks", status=503), "connection.unreachable", Severity.ERROR, False),
        (
            UnexpectedResponse("not JSON", system="quickbooks", status=200),
            "connection.unreachable",
            Severity.ERROR,
            False,
        ),
        (NotFound("no such company", system="quickbooks", status=404), "connection.unreachable", Severity.ERROR, False),
        (
            Rejected("Invalid Company Status", system="quickbooks", code="6190", status=400),
            "connection.unreachable",
            Severity.ERROR,
            False,
        ),
        (ProviderError("HTTP 418", system="quickbooks", status=418), "connection.unreachable", Severity.ERROR, False),
    ],
)
def test_oauth_side_errors_map_to_catalog_codes(error, code, severity, reauth):
    finding = finding_for_error(error, qbo())
    assert finding.code == code
    assert finding.code in CATALOG
    assert finding.severity is severity
    assert finding.subject == "quickbooks"
    assert finding.system == "quickbooks"
    assert finding.evidence["message"] == error.message
    assert finding.evidence["provider_code"] == error.code
    assert finding.evidence["status"] == error.status
    assert finding.evidence["error"] == type(error).__name__
    assert (finding.action is not None) is reauth
    if reauth:
        assert finding.action.kind == "reauthorise"
        assert dict(finding.action.params) == {"system": "quickbooks", "side": "destination"}


def test_api_key_errors_use_apikey_codes_and_offer_no_reauthorise():
    revoked = finding_for_error(
        TokenRevoked("Invalid API Key provided: rk_live_****abc", system="stripe", code="api_key_invalid", status=401),
        stripe(),
    )
    assert revoked.code == "apikey.invalid"
    assert revoked.action is None
    perms = finding_for_error(
        ScopeMissing(
            "The provided key 'rk_live_…' does not have the required permissions",
            system="stripe",
            needed=("rak_invoice_read",),
            status=403,
        ),
        stripe(),
    )
    assert perms.code == "apikey.permissions"
    assert perms.evidence["missing"] == ["rak_invoice_read"]
    assert perms.action is None


def test_an_invalid_key_carries_the_configured_environment_when_there_is_one():
    error = TokenRevoked("Invalid API Key provided", system="stripe", code="api_key_invalid", status=401)
    live = config("stripe", "quickbooks", source_side={"environment": "live"})
    found = finding_for_error(error, side("source", live, credentials=api_key("rk_live_abc")))
    assert found.evidence["configured"] == "live"
    unset = finding_for_error(error, stripe())
    assert "configured" not in unset.evidence  # nothing configured: nothing claimed


def test_wrong_environment_carries_both_environments():
    error = WrongEnvironment(
        "a test-mode restricted key is configured",
        actual="test",
        expected="live",
        system="stripe",
        code="wrong_environment",
    )
    finding = finding_for_error(error, stripe())
    assert finding.code == "apikey.environment"
    assert finding.evidence["actual"] == "test"
    assert finding.evidence["configured"] == "live"
    assert finding.severity is Severity.FAIL


def test_tenant_error_for_a_disconnected_tenant_is_disconnected():
    # Xero answers 403 {"Detail": "AuthenticationUnsuccessful"} for a tenant disconnected from its side.
    error = TenantError("AuthenticationUnsuccessful", system="xero", code="AuthenticationUnsuccessful", status=403)
    finding = finding_for_error(error, qbo())
    assert finding.code == "connection.disconnected"
    assert finding.evidence["reason"] == "tenant_disconnected"
    assert finding.evidence["configured_tenant"] == "9130350000000001"
    assert finding.action is not None


def test_tenant_error_for_another_account_is_wrong_tenant_with_configuration():
    error = TenantError(
        "the API key belongs to account acct_2 (Other), not the configured acct_1",
        system="stripe",
        code="wrong_account",
    )
    finding = finding_for_error(error, stripe())
    assert finding.code == "connection.wrong_tenant"
    assert finding.evidence["configured_tenant"] is None
    assert finding.action is None  # a key cannot be re-consented


def test_credentials_missing_says_no_credentials():
    finding = finding_for_error(CredentialsMissing("no credentials", system="quickbooks"), qbo())
    assert finding.evidence["reason"] == "no_credentials"
    assert finding.evidence["state"] == "active"


def test_rate_limited_keeps_retry_after_and_window():
    finding = finding_for_error(RateLimited("Too many", system="quickbooks", retry_after=60.0, limit="minute"), qbo())
    assert finding.evidence["retry_after"] == 60.0
    assert finding.evidence["limit"] == "minute"
    assert finding.evidence["from_error"] is True


def test_same_error_from_two_checks_is_one_finding():
    a = finding_for_error(TokenExpired("expired", system="quickbooks"), qbo())
    b = finding_for_error(TokenExpired("expired again", system="quickbooks"), qbo())
    c = finding_for_error(TokenExpired("expired", system="stripe"), stripe())
    assert a.key == b.key and a.key != c.key
    assert dedupe([a, b, c]) == [a, c]


def test_dedupe_keeps_the_worst_in_first_seen_order():
    warn_like = finding_for_error(Unavailable("503", system="quickbooks"), qbo())
    first = finding_for_error(TokenRevoked("revoked", system="stripe"), stripe())
    kept = dedupe([first, warn_like, warn_like])
    assert [f.code for f in kept] == ["apikey.invalid", "connection.unreachable"]


def test_evidence_is_json_serialisable():
    import json

    finding = finding_for_error(ScopeMissing("x", system="quickbooks", needed=("a", "b")), qbo())
    json.dumps(dict(finding.evidence))
