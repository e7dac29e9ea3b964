"""Connection and token checks over preloaded records (the healthy case gives nothing)."""

from __future__ import annotations

from datetime import timedelta

from checks.connection import check_destination_connection, check_source_connection
from checks.findings import Severity
from checks.tokens import check_tokens, missing_scopes
from providers.base import Capability
from providers.records import ConnectionInfo, OrgInfo
from tests.checks.contexts import config, ctx, side
from tests.checks.records import NOW, api_key, oauth

QBO_SCOPE = "com.intuit.quickbooks.accounting"
HUBSPOT_SCOPES = frozenset(
    {
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",  # the contacts the actions create
        "crm.objects.products.read",
        "crm.objects.line_items.read",
        "crm.objects.invoices.read",
        "oauth",
    }
)
REALM = "9130350000000001"


def check_connection(ctx):  # both sides, as the runner runs them
    return [*check_source_connection(ctx), *check_destination_connection(ctx)]


def integration(**dest):
    return config(
        "hubspot",
        "quickbooks",
        source_side={"tenant": "4410021"},
        destination_side={"tenant": REALM, "name": "Acme Pty Ltd", **dest},
    )


def hubspot(cfg, *, credentials=None, scopes=HUBSPOT_SCOPES, environment="live", **kw):
    info = ConnectionInfo(tenant_id="4410021", tenant_name="acme.hubspot.com", scopes=scopes, environment=environment)
    return side("source", cfg, credentials=credentials or oauth(scopes=tuple(sorted(HUBSPOT_SCOPES))), probe=info, **kw)


def quickbooks(cfg, *, info=None, credentials=None, **kw):
    info = info or ConnectionInfo(tenant_id=REALM, tenant_name="Acme Pty Ltd", scopes=frozenset({QBO_SCOPE}))
    creds = credentials or oauth(scopes=(QBO_SCOPE,), refresh_expires_at=NOW + timedelta(days=99))
    return side("destination", cfg, credentials=creds, probe=info, **kw)


def run(check, cfg, src, dst, now=NOW):
    return list(check(ctx(cfg, src, dst, now)))


# -- connection -------------------------------------------------------------------------


def test_healthy_connections_give_no_findings():
    cfg = integration()
    assert run(check_connection, cfg, hubspot(cfg), quickbooks(cfg)) == []
    assert run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg)) == []


def test_no_credentials_is_disconnected_and_skips_the_probe():
    cfg = integration()
    dst = side("destination", cfg, credentials=None)  # no probe given: a probe call would raise
    dst_caps = dst.supports(Capability.ORG)
    findings = run(check_connection, cfg, hubspot(cfg), dst)
    assert not dst_caps
    assert [f.code for f in findings] == ["connection.disconnected"]
    f = findings[0]
    assert f.subject == "quickbooks" and f.system == "quickbooks"
    assert f.evidence == {
        "system": "quickbooks",
        "side": "destination",
        "display_name": "QuickBooks Online",
        "state": "active",
        "reason": "no_credentials",
        "last_error": None,
    }
    assert f.action is not None and f.action.kind == "reauthorise"


def test_stored_disconnected_state_even_with_credentials():
    cfg = integration()
    dst = quickbooks(cfg, state="disconnected", last_error="invalid_grant: Token invalid")
    [f] = run(check_connection, cfg, hubspot(cfg), dst)
    assert f.code == "connection.disconnected"
    assert f.evidence["reason"] == "disconnected"
    assert f.evidence["last_error"] == "invalid_grant: Token invalid"


def test_stored_states_and_their_severities():
    cfg = integration()
    for state, severity, has_action in (
        ("requires_reauth", Severity.FAIL, True),
        ("grace_period", Severity.WARN, False),
        ("pending_credits", Severity.FAIL, False),
    ):
        [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, state=state, last_error="x"))
        assert f.code == "connection.state"
        assert f.severity is severity
        assert f.evidence["state"] == state
        assert (f.action is not None) is has_action


def test_wrong_tenant_names_configured_connected_and_reachable_tenants():
    cfg = integration()
    info = ConnectionInfo(
        tenant_id="9130350000000999",
        tenant_name="Acme Test Co",
        scopes=frozenset({QBO_SCOPE}),
        tenants_available=(("9130350000000999", "Acme Test Co"),),
    )
    [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=info))
    assert f.code == "connection.wrong_tenant"
    assert f.severity is Severity.FAIL
    assert f.evidence == {
        "system": "quickbooks",
        "side": "destination",
        "display_name": "QuickBooks Online",
        "configured_tenant": REALM,
        "configured_name": "Acme Pty Ltd",
        "connected_tenant": "9130350000000999",
        "connected_name": "Acme Test Co",
        "tenant_differs": True,
        "name_differs": True,
        "renamed": False,
        "tenants_available": [{"id": "9130350000000999", "name": "Acme Test Co"}],
        "configured_reachable": False,
    }
    assert f.action is not None and f.action.kind == "reauthorise"


def test_wrong_tenant_when_the_token_also_reaches_the_configured_one_needs_no_consent():
    cfg = integration()
    info = ConnectionInfo(
        tenant_id="other",
        tenant_name="Other Ltd",
        tenants_available=(("other", "Other Ltd"), (REALM, "Acme Pty Ltd")),
    )
    [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=info))
    assert f.evidence["configured_reachable"] is True
    assert f.action is None


def test_name_only_configured_and_different_fails():
    cfg = config("hubspot", "quickbooks", destination_side={"name": "Acme Pty Ltd"})
    info = ConnectionInfo(tenant_id=REALM, tenant_name="Globex Corporation")
    [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=info))
    assert f.code == "connection.wrong_tenant"
    assert f.severity is Severity.FAIL
    assert f.evidence["name_differs"] is True and f.evidence["tenant_differs"] is False


def test_same_tenant_renamed_only_warns_and_case_or_spacing_is_not_a_difference():
    cfg = integration()
    renamed = ConnectionInfo(tenant_id=REALM, tenant_name="Acme Holdings")
    [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=renamed))
    assert f.severity is Severity.WARN and f.evidence["renamed"] is True and f.action is None
    spaced = ConnectionInfo(tenant_id=REALM, tenant_name="  acme  pty LTD")
    assert run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=spaced)) == []


def test_name_comes_from_the_organisation_when_the_probe_has_none():
    cfg = integration()
    info = ConnectionInfo(tenant_id=REALM)
    org = OrgInfo(tenant_id=REALM, name="Globex")
    [f] = run(check_connection, cfg, hubspot(cfg), quickbooks(cfg, info=info, org=org))
    assert f.evidence["connected_name"] == "Globex"


# -- tokens -----------------------------------------------------------------------------


def test_access_token_expiry_alone_is_normal():
    cfg = integration()
    dst = quickbooks(
        cfg,
        credentials=oauth(
            scopes=(QBO_SCOPE,), expires_at=NOW - timedelta(hours=5), refresh_expires_at=NOW + timedelta(days=80)
        ),
    )
    assert run(check_tokens, cfg, hubspot(cfg), dst) == []


def test_stated_refresh_expiry_within_14_days_warns():
    cfg = integration()
    issued = NOW - timedelta(days=3)
    creds = oauth(scopes=(QBO_SCOPE,), refresh_issued_at=issued, refresh_expires_at=NOW + timedelta(days=10, hours=2))
    [f] = run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg, credentials=creds))
    assert f.code == "token.expiring"
    assert f.severity is Severity.WARN
    assert f.evidence == {
        "system": "quickbooks",
        "side": "destination",
        "display_name": "QuickBooks Online",
        "token": "refresh",
        "basis": "stated",
        "issued_at": issued.isoformat(),
        "expires_at": (NOW + timedelta(days=10, hours=2)).isoformat(),
        "lifetime_days": None,
        "age_days": 3,
        "days_remaining": 10,
        "reasons": ["days_left"],
    }
    assert f.action is not None


def test_unused_lifetime_at_80_percent_warns():
    # QuickBooks refresh tokens die after 100 days unused: at day 81, 19 days remain (80% used).
    cfg = integration()
    creds = oauth(scopes=(QBO_SCOPE,), refresh_issued_at=NOW - timedelta(days=81))
    [f] = run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg, credentials=creds))
    assert f.code == "token.expiring"
    assert f.evidence["basis"] == "unused"
    assert f.evidence["lifetime_days"] == 100
    assert f.evidence["age_days"] == 81
    assert f.evidence["days_remaining"] == 19
    assert f.evidence["reasons"] == ["lifetime_used"]
    young = oauth(scopes=(QBO_SCOPE,), refresh_issued_at=NOW - timedelta(days=79))
    assert run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg, credentials=young)) == []


def test_refresh_token_past_its_life_is_expired_and_stops_there():
    cfg = integration()
    creds = oauth(scopes=(QBO_SCOPE,), refresh_issued_at=NOW - timedelta(days=101))
    dst = side("destination", cfg, credentials=creds)  # no probe: the check must not probe a dead token
    [f] = run(check_tokens, cfg, hubspot(cfg), dst)
    assert f.code == "token.expired"
    assert f.severity is Severity.FAIL
    assert f.evidence["expired_at"] == (NOW - timedelta(days=1)).isoformat()
    assert f.evidence["refreshable"] is False


def test_scope_missing_names_each_missing_scope():
    cfg = integration()
    granted = frozenset({"crm.objects.contacts.read", "oauth"})
    [f] = run(check_tokens, cfg, hubspot(cfg, scopes=granted), quickbooks(cfg))
    assert f.code == "token.scope_missing"
    assert f.subject == "hubspot"
    assert f.evidence["missing"] == [
        "crm.objects.contacts.write",
        "crm.objects.products.read",
        "crm.objects.line_items.read",
        "crm.objects.invoices.read",
    ]
    assert f.evidence["granted"] == ["crm.objects.contacts.read", "oauth"]
    assert f.evidence["granted_from"] == "system"
    assert f.action is not None and f.action.kind == "reauthorise"


def test_a_grant_that_only_reads_contacts_lacks_what_creating_one_needs():
    # HubSpot needs crm.objects.contacts.write to create a contact (PROVIDERS.md §4 Scopes).
    cfg = integration()
    [f] = run(check_tokens, cfg, hubspot(cfg, scopes=HUBSPOT_SCOPES - {"crm.objects.contacts.write"}), quickbooks(cfg))
    assert (f.code, f.evidence["missing"]) == ("token.scope_missing", ["crm.objects.contacts.write"])


def test_configured_scopes_are_what_the_token_check_expects():
    # An app registered with Xero's broad scopes (before March 2026) configures them per side;
    # the granular defaults and the broad scopes also cover each other.
    broad = ("accounting.transactions", "accounting.contacts", "accounting.settings", "offline_access")
    cfg = config(
        "hubspot", "xero", source_side={"tenant": "4410021"}, destination_side={"tenant": "t-1", "scopes": broad}
    )
    xero_info = ConnectionInfo(tenant_id="t-1", tenant_name="Acme", scopes=None)
    granted_broad = oauth(scopes=broad, refresh_expires_at=NOW + timedelta(days=50))
    xero = side("destination", cfg, credentials=granted_broad, probe=xero_info)
    assert run(check_tokens, cfg, hubspot(cfg), xero) == []
    default_cfg = config("hubspot", "xero", source_side={"tenant": "4410021"}, destination_side={"tenant": "t-1"})
    xero = side("destination", default_cfg, credentials=granted_broad, probe=xero_info)
    assert run(check_tokens, default_cfg, hubspot(default_cfg), xero) == []  # broad covers the granular defaults
    only_settings = oauth(scopes=("accounting.settings", "offline_access"), refresh_expires_at=NOW + timedelta(days=50))
    xero = side("destination", cfg, credentials=only_settings, probe=xero_info)
    [f] = run(check_tokens, cfg, hubspot(cfg), xero)
    assert f.evidence["missing"] == ["accounting.transactions", "accounting.contacts"]
    assert f.evidence["needed"] == list(broad)


def test_scopes_fall_back_to_the_token_response_and_unknown_is_never_guessed():
    cfg = integration()
    no_probe_scopes = ConnectionInfo(tenant_id=REALM, tenant_name="Acme Pty Ltd", scopes=None)
    creds = oauth(scopes=("openid",), refresh_expires_at=NOW + timedelta(days=90))
    [f] = run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg, info=no_probe_scopes, credentials=creds))
    assert f.evidence["missing"] == [QBO_SCOPE]
    assert f.evidence["granted_from"] == "token_response"
    unknown = oauth(scopes=(), refresh_expires_at=NOW + timedelta(days=90))
    assert run(check_tokens, cfg, hubspot(cfg), quickbooks(cfg, info=no_probe_scopes, credentials=unknown)) == []


def test_scope_equivalences():
    # Xero: the read-write scope covers .read; granular scopes replace accounting.transactions.
    assert missing_scopes({"accounting.contacts"}, ["accounting.contacts.read"]) == []
    assert missing_scopes({"accounting.invoices.read", "accounting.payments"}, ["accounting.transactions.read"]) == []
    assert missing_scopes({"accounting.invoices.read"}, ["accounting.transactions.read"]) == [
        "accounting.transactions.read"
    ]
    assert missing_scopes({"e-commerce"}, ["crm.objects.products.read"]) == []


def test_api_key_environment_mismatch():
    cfg = config("stripe", "quickbooks", source_side={"environment": "live"}, destination_side={"tenant": REALM})
    info = ConnectionInfo(tenant_id="acct_1", tenant_name="Acme", environment="test")
    src = side("source", cfg, credentials=api_key("sk_test_51Habc"), probe=info)
    [f] = run(check_tokens, cfg, src, quickbooks(cfg))
    assert f.code == "apikey.environment"
    assert f.severity is Severity.FAIL
    assert f.evidence == {
        "system": "stripe",
        "side": "source",
        "display_name": "Stripe",
        "configured": "live",
        "actual": "test",
        "auth": "api_key",
        "key_kind": "secret",
        "key_prefix": "sk_test_",
    }
    assert "51Habc" not in repr(f)
    assert f.action is None


def test_api_key_environment_from_the_key_prefix_when_the_probe_does_not_say():
    cfg = config("stripe", "quickbooks", source_side={"environment": "test"}, destination_side={"tenant": REALM})
    src = side("source", cfg, credentials=api_key("rk_live_zzz"), probe=ConnectionInfo(tenant_id="acct_1"))
    [f] = run(check_tokens, cfg, src, quickbooks(cfg))
    assert (f.evidence["actual"], f.evidence["key_kind"]) == ("live", "restricted")


def test_restricted_key_permissions():
    cfg = config("stripe", "quickbooks", source_side={"environment": "live"}, destination_side={"tenant": REALM})
    from providers import provider_class

    needed = provider_class("stripe").scopes_needed
    granted = frozenset(needed[1:])
    info = ConnectionInfo(tenant_id="acct_1", environment="live", permissions=granted)
    src = side("source", cfg, credentials=api_key("rk_live_zzz"), probe=info)
    [f] = run(check_tokens, cfg, src, quickbooks(cfg))
    assert f.code == "apikey.permissions"
    assert f.evidence["missing"] == [needed[0]]
    assert f.action is None
    full = ConnectionInfo(tenant_id="acct_1", environment="live", permissions=frozenset(needed))
    src = side("source", cfg, credentials=api_key("rk_live_zzz"), probe=full)
    assert run(check_tokens, cfg, src, quickbooks(cfg)) == []
