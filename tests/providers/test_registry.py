"""The registry: what a system is (name, rules) lives on its provider class, reached by key."""

from __future__ import annotations

import pytest

from checks.context import SideData
from config.integrations import ConfigError, SideConfig, parse_config
from config.middleware import MIDDLEWARE_SYSTEMS
from providers import MIDDLEWARE, PROVIDERS, display_name, provider_class, rules_for
from providers.base import Rules


def test_display_names_come_from_the_provider_class() -> None:
    assert display_name("quickbooks") == provider_class("quickbooks").display_name == "QuickBooks Online"
    assert display_name("aroflo") == provider_class("aroflo").display_name == "AroFlo"  # a job app's preset
    assert display_name("make") == "Make" and display_name("zapier") == "Zapier"  # middleware
    assert display_name("not-a-system") == "not-a-system"
    assert all(display_name(system) != system for system in PROVIDERS)


GENERIC_FEED = {
    "export": {"file": "exports/sales.csv"},
    "mapping": {
        "invoice": {
            "number": "$.number",
            "date": "$.date",
            "status": "$.status",
            "total": "$.total",
            "currency": {"const": "GBP"},
            "contact_id": "$.customer",
            "contact_name": "$.customer",
        }
    },
}

FEEDS = {
    "generic": GENERIC_FEED,
    "torqueflow": {"export": {"file": "exports/torqueflow.csv"}},
    "workshop_software": {"export": {"file": "exports/workshop.csv"}},
}


def test_the_configuration_accepts_exactly_the_registered_systems() -> None:
    """A system becomes configurable by registering its provider, and only then: `connect` or
    `check` never meet a configured system that no provider serves."""
    for system in PROVIDERS:
        # a generic job-app source needs its feed, an export-only app where its export is; every other
        # system takes no more than its name
        side = {"system": system, **({"feed": FEEDS[system]} if system in FEEDS else {})}
        config = parse_config({"integrations": {"a": {"source": side, "destination": side}}}, systems=PROVIDERS)
        assert config.integrations["a"].source.system == system
    with pytest.raises(ConfigError, match=r"integrations\.a\.destination\.system: unknown system 'make'; supported: "):
        parse_config(
            {"integrations": {"a": {"source": {"system": "stripe"}, "destination": {"system": "make"}}}},
            systems=PROVIDERS,
        )


def test_middleware_is_its_own_table_and_never_a_source_or_destination() -> None:
    assert set(MIDDLEWARE) == set(MIDDLEWARE_SYSTEMS)
    assert not set(MIDDLEWARE) & set(PROVIDERS)


def test_rules_are_declared_per_system_with_defaults_for_the_rest() -> None:
    xero, quickbooks = rules_for("xero"), rules_for("quickbooks")
    assert (xero.contact_name_max, xero.item_code_max, xero.item_name_max) == (255, 30, 50)
    assert quickbooks.contact_name_forbidden == ":" and quickbooks.address_required("us")
    assert not xero.address_required("US") and xero.unique_contact_names
    assert rules_for("stripe") == Rules() == rules_for("not-a-system")  # nothing documented: accept anything
    zoho, myob = rules_for("zoho_books"), rules_for("myob")
    assert (zoho.contact_name_max, zoho.item_code_max, zoho.item_name_max) == (200, None, 100)
    assert (myob.contact_name_max, myob.item_code_max, myob.item_name_max) == (50, 30, 30)
    assert zoho.item_code_case_sensitive is None is myob.item_code_case_sensitive  # UNCONFIRMED for both


def test_a_side_knows_its_system_without_a_provider() -> None:
    # The provider could not be built (no credentials stored): checks still judge against its rules.
    side = SideData("destination", SideConfig("quickbooks"), None)
    assert side.display_name == "QuickBooks Online" and side.rules.contact_name_max == 500
