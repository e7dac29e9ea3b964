"""The registry: what a system is (name, rules) lives on its provider class, reached by key."""

from __future__ import annotations

from checks.context import SideData
from config.integrations import SYSTEMS, SideConfig
from providers import NAMED_ONLY, PROVIDERS, display_name, provider_class, rules_for
from providers.base import Rules


def test_display_names_come_from_the_provider_class_or_the_named_only_table() -> None:
    assert display_name("quickbooks") == provider_class("quickbooks").display_name == "QuickBooks Online"
    assert display_name("aroflo") == "AroFlo"  # a job app: a name, no client
    assert display_name("not-a-system") == "not-a-system"
    assert not set(NAMED_ONLY) & set(PROVIDERS)  # one home per name


def test_every_configurable_system_has_exactly_one_display_name() -> None:
    assert set(PROVIDERS) | set(NAMED_ONLY) == set(SYSTEMS)
    assert all(display_name(system) != system for system in SYSTEMS)


def test_rules_are_declared_per_system_with_defaults_for_the_rest() -> None:
    xero, quickbooks = rules_for("xero"), rules_for("quickbooks")
    assert (xero.contact_name_max, xero.item_code_max, xero.item_name_max) == (255, 30, 50)
    assert quickbooks.contact_name_forbidden == ":" and quickbooks.address_required("us")
    assert not xero.address_required("US") and xero.unique_contact_names
    assert rules_for("stripe") == Rules() == rules_for("aroflo")  # nothing documented: accept anything
    zoho, myob = rules_for("zoho_books"), rules_for("myob")
    assert (zoho.contact_name_max, zoho.item_code_max, zoho.item_name_max) == (200, None, 100)
    assert (myob.contact_name_max, myob.item_code_max, myob.item_name_max) == (50, 30, 30)
    assert zoho.item_code_case_sensitive is None is myob.item_code_case_sensitive  # UNCONFIRMED for both


def test_a_side_knows_its_system_without_a_provider() -> None:
    # The provider could not be built (no credentials stored): checks still judge against its rules.
    side = SideData("destination", SideConfig("quickbooks"), None)
    assert side.display_name == "QuickBooks Online" and side.rules.contact_name_max == 500
