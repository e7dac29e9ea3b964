"""Plan features a configured mapping relies on, judged against what a QuickBooks company's
plan (entitlements) and preferences say, over real HTTP against the QuickBooks emulator (the
source side is given as records)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from checks.context import SideData
from checks.plan import check_plan
from config.integrations import IntegrationConfig, Mappings, SideConfig
from providers.records import Feature, TrackingRef
from tests.checks.contexts import ctx
from tests.checks.records import invoice, line
from tests.providers.test_quickbooks import ACME, Running, world


def company(class_tracking: bool, entitlement: str | None) -> dict[str, Any]:
    """The acme realm with class tracking switched on or off in Preferences, and the plan's
    "Class Tracking" entitlement On, Off, or (None) the entitlements service unreadable."""
    section = world()
    realm = section["realms"][ACME]
    realm["Preferences"]["AccountingInfoPrefs"] = {"ClassTrackingPerTxnLine": class_tracking}
    if entitlement is None:
        realm["entitlements_fault"] = {"status": 503, "code": "10000", "message": "Service unavailable"}
    else:
        realm["Entitlements"]["Entitlement"] = [{"id": "27", "name": "Class Tracking", "term": entitlement}]
    return section


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.server.stop()


def plan_findings(started: list[Running], section: dict[str, Any], mappings: Mappings) -> list[Any]:
    qbo = Running(section)
    started.append(qbo)
    cfg = IntegrationConfig(
        name="acme",
        source=SideConfig("hubspot", tenant="4411"),
        destination=SideConfig("quickbooks", tenant=ACME),
        mappings=mappings,
    )
    tagged = invoice("HS-1", line(sku="PROD-001", tracking=(TrackingRef("Region", "North"),)), currency="USD")
    source = SideData.preloaded("source", cfg.source, invoices=[tagged])
    destination = SideData("destination", cfg.destination, qbo.provider())
    return list(check_plan(ctx(cfg, source, destination)))


CLASSES = Mappings(tracking={"Region": "Class"})


def test_a_company_not_tracking_classes_mapped_to_classes_is_reported(running: list[Running]) -> None:
    # Plus includes class tracking (the entitlement is On) but the company never switched it on:
    # every mapped class would be dropped. Today this company was reported healthy.
    [f] = plan_findings(running, company(class_tracking=False, entitlement="On"), CLASSES)
    assert (f.code, f.subject, f.evidence["reason"]) == ("mapping.tracking", "Class", "tracking_off")
    assert f.evidence["source_categories"] == ["Region"] and f.evidence["invoices"] == ["HS-1"]


def test_the_same_company_is_reported_when_its_plan_cannot_be_read(running: list[Running]) -> None:
    # Without the entitlements the plan's features are unknown, but Preferences still say
    # class tracking is off: that is enough to know the mapping cannot be honoured.
    [f] = plan_findings(running, company(class_tracking=False, entitlement=None), CLASSES)
    assert (f.code, f.evidence["reason"]) == ("mapping.tracking", "tracking_off")


def test_a_plan_without_class_tracking_is_the_plan_finding_alone(running: list[Running]) -> None:
    [f] = plan_findings(running, company(class_tracking=False, entitlement="Off"), CLASSES)
    assert (f.code, f.subject) == ("plan.feature_missing", Feature.TRACKING.value)


def test_class_tracking_switched_on_is_healthy(running: list[Running]) -> None:
    assert plan_findings(running, company(class_tracking=True, entitlement="On"), CLASSES) == []
    assert plan_findings(running, company(class_tracking=False, entitlement="On"), Mappings()) == []
