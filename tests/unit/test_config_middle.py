"""The ``middleware:`` block and a job-app source's ``feed:``: parsed strictly, every error naming
the key path, presets merged under what the user writes."""

from __future__ import annotations

from typing import Any

import pytest

from config.integrations import ConfigError, IntegrationConfig, parse_config
from providers import PROVIDERS

MAKE = {"system": "make", "scenario_id": 1229, "organization_id": 21, "zone": "eu1.make.com"}
GENERIC_FEED: dict[str, Any] = {
    "auth": {"kind": "bearer"},
    "paging": {"kind": "page_number", "size_param": "per_page", "size": 50},
    "endpoints": {"invoices": {"path": "/api/invoices", "records": "$.data[*]", "query": {"since": "{since}"}}},
    "mapping": {
        "invoice": {
            "number": "$.number",
            "date": "$.issued",
            "status": {"path": "$.state", "values": {"sent": "open", "settled": "paid"}},
            "total": "$.total",
            "currency": {"const": "NZD"},
            "lines": "$.lines[*]",
        },
        "line": {"sku": "$.code", "amount": "$.amount"},
    },
}


def one(body: dict[str, Any]) -> IntegrationConfig:
    return parse_config({"integrations": {"acme": body}}, source="t.yml").integrations["acme"]


def fails(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        one(body)
    assert expected in str(raised.value), str(raised.value)


def sides(source: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"source": source, "destination": {"system": "xero"}, **more}


def test_a_make_middleware_becomes_a_third_side_with_its_zone_as_base_url() -> None:
    integration = one(sides({"system": "hubspot"}, middleware=MAKE))
    assert integration.middleware is not None and integration.middleware.flow_id == "1229"
    side = integration.side("middleware")
    assert (side.system, side.tenant, side.urls["base_url"]) == ("make", "21", "https://eu1.make.com")
    assert side.options == {"scenario_id": "1229", "zone": "eu1.make.com"}


@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        ({"system": "n8n"}, "middleware.system: must be one of make, zapier, not 'n8n'"),
        ({**MAKE, "scenario_id": None}, "middleware.scenario_id: is required for Make"),
        ({**MAKE, "zone": None}, "middleware.zone: is required for Make: the host of your Make dashboard"),
        ({**MAKE, "zone": "eu1"}, "middleware.zone: must be a host such as eu1.make.com"),
        ({**MAKE, "organization_id": "sparky"}, "middleware.organization_id: must be Make's numeric id, not 'sparky'"),
        ({**MAKE, "zap_id": "z1"}, "middleware: zap_id is not a make setting"),
        ({"system": "zapier"}, "middleware.zap_id: is required for Zapier"),
        ({"system": "zapier", "zap_id": "z", "plan": "gold"}, "middleware.plan: must be one of free, professional"),
        (
            {"system": "zapier", "zap_id": "z", "runs_zap_id": "abc"},
            "middleware.runs_zap_id: must be the numeric Zap id",
        ),
        ({"system": "zapier", "zap_id": "z", "scenario_id": 1}, "middleware: scenario_id is not a zapier setting"),
    ],
)
def test_middleware_errors_name_the_key(middleware: dict[str, Any], expected: str) -> None:
    fails(sides({"system": "hubspot"}, middleware=middleware), f"t.yml: integrations.acme.{expected}")


def test_a_zapier_middleware_carries_its_plan_and_ids_as_options() -> None:
    zap = {"system": "zapier", "zap_id": "104445735", "plan": "free", "poll_minutes": 5}
    side = one(sides({"system": "stripe"}, middleware=zap)).side("middleware")
    assert side.options == {"zap_id": "104445735", "plan": "free", "poll_minutes": "5"}


def test_middleware_is_not_a_source_or_destination_system() -> None:
    with pytest.raises(ConfigError, match=r"integrations\.acme\.source\.system: unknown system 'make'"):
        parse_config({"integrations": {"acme": sides({"system": "make"})}}, systems=PROVIDERS)


def test_a_generic_feed_is_parsed_with_its_paths() -> None:
    source = one(sides({"system": "generic", "base_url": "https://jobs.example.com/api/", "feed": GENERIC_FEED})).source
    assert source.feed is not None and source.urls["base_url"] == "https://jobs.example.com/api"
    invoice = source.feed.fields("invoice")
    assert invoice["status"].values == {"sent": "open", "settled": "paid"}
    assert invoice["currency"].const == "NZD" and invoice["lines"].path is not None and invoice["lines"].path.many
    assert source.feed.endpoints["invoices"].query == {"since": ("{since}",)}
    assert source.feed.reads("invoices") and not source.feed.reads("contacts")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"auth": {"kind": "oauth"}}, "feed.auth.kind: must be one of none, bearer, basic"),
        ({"auth": {"kind": "hmac"}}, "feed.auth.header: is required for hmac"),
        ({"paging": {"kind": "cursor"}}, "feed.paging: cursor paging needs next_path"),
        ({"endpoints": {}}, "feed: needs endpoints.invoices (an HTTP API) or export"),
        (
            {"endpoints": {"invoices": {"path": "/x", "records": "data[*]"}}},
            "feed.endpoints.invoices.records: 'data[*]' must start with '$'",
        ),
        ({"mapping": {"invoice": {"number": "$.n"}}}, "feed.mapping.invoice.date: is required"),
        (
            {"mapping": {**GENERIC_FEED["mapping"], "line": None, "invoice": {**GENERIC_FEED["mapping"]["invoice"]}}},
            "feed.mapping.line: needs amount or unit_price",
        ),
        (
            {
                "mapping": {
                    "invoice": {
                        **GENERIC_FEED["mapping"]["invoice"],
                        "status": {"path": "$.s", "values": {"sent": "issued"}},
                    }
                }
            },
            "feed.mapping.invoice.status.values.sent: must be one of draft, open, paid, void, not 'issued'",
        ),
        (
            {"mapping": {"invoice": {**GENERIC_FEED["mapping"]["invoice"], "total": {"path": "$.t", "const": "1"}}}},
            "feed.mapping.invoice.total: give either `path`",
        ),
        (
            {"endpoints": {**GENERIC_FEED["endpoints"], "contacts": {"path": "/c", "records": "$[*]"}}},
            "feed.mapping.contact: is required: endpoints.contacts is configured",
        ),
        ({"export": {"format": "csv", "records": "$[*]", "file": "x.csv"}}, "feed.export.records: is for JSON exports"),
    ],
)
def test_feed_errors_name_the_key(change: dict[str, Any], expected: str) -> None:
    feed = {**GENERIC_FEED, **change}
    fails(
        sides({"system": "generic", "base_url": "https://j.example", "feed": feed}),
        f"integrations.acme.source.{expected}",
    )


def test_a_generic_api_feed_needs_a_base_url() -> None:
    fails(sides({"system": "generic", "feed": GENERIC_FEED}), "integrations.acme.source.base_url: is required")


def test_a_feed_is_only_for_job_app_sources() -> None:
    fails(sides({"system": "hubspot", "feed": GENERIC_FEED}), "source.feed: is for job-app sources (generic, aroflo")


def test_the_aroflo_preset_needs_nothing_and_takes_overrides_field_by_field() -> None:
    plain = one(sides({"system": "aroflo"})).source.feed
    assert plain is not None and plain.auth.kind == "aroflo"
    assert plain.endpoints["invoices"].query["where"] == ("and|dateinvoiced|>|{since}",)
    assert plain.fields("invoice")["currency"].const == "AUD"
    nz = {"mapping": {"invoice": {"currency": {"const": "NZD"}}}, "paging": {"size": 2}}
    tuned = one(sides({"system": "aroflo", "feed": nz})).source.feed
    assert tuned is not None and tuned.fields("invoice")["currency"].const == "NZD"
    assert tuned.fields("invoice")["number"].path is not None  # the rest of the preset stays
    assert (tuned.paging.kind, tuned.paging.size, tuned.paging.size_param) == ("page_number", 2, "pageSize")


def test_an_export_preset_needs_to_know_where_the_export_is() -> None:
    fails(
        sides({"system": "torqueflow"}),
        "source.feed.export: needs `file` or `url`: where torqueflow's invoice export is",
    )
    feed = one(sides({"system": "torqueflow", "feed": {"export": {"file": "sales.csv"}}})).source.feed
    assert feed is not None and feed.export is not None and feed.export.rows == "invoice"
    number = feed.fields("invoice")["number"].path
    assert number is not None and number.text == "$['Invoice #']"
