"""Job-app and middleware scenarios over real HTTP: the demo world's sparky (AroFlo -> Make ->
Xero) and torque (a Torqueflow export -> Xero), altered the way the seeds' stories break, run
through the real checks against the emulators on loopback, each with its exact evidence.

The seeds' job-app stories: an invoice stuck because the job app waits for a manual "Sync now";
an invoice re-issued under a new number while the books hold the old one; a nominal / revenue
code with no account mapping; a new job-app customer whose name collides with a different
contact in the books. Then the middle: a Make scenario switched off after errors, an invoice
waiting for the next poll, a Make organisation in another zone, a Zap off, no Zapier token, a
generic app signing its requests, and a mapping that does not fit.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app import build
from checks.findings import Finding, Severity
from checks.runner import RunResult
from checks.trace import InvoiceTrace
from demo import DEMO_WORLD, DemoEnvironment
from sandbox.server import load_world


@pytest.fixture(scope="module")
def demo_world() -> dict[str, Any]:
    return load_world(DEMO_WORLD)


@pytest.fixture
def world(demo_world: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_world)


def keep(world: dict[str, Any], *names: str) -> dict[str, Any]:
    """Only ``names`` of the demo's integrations (fewer runs, same emulators)."""
    demo = world["demo"]
    demo["integrations"] = {k: v for k, v in demo["integrations"].items() if k in names}
    demo["credentials"] = {k: v for k, v in demo["credentials"].items() if k in names}
    return world


@pytest.fixture
def run(env: dict[str, str]) -> Iterator[Any]:
    opened: list[DemoEnvironment] = []

    def start(world: dict[str, Any]) -> DemoEnvironment:
        demo = DemoEnvironment({}, build, world=world, database_url=env["DATABASE_URL"])
        opened.append(demo.__enter__())
        return demo

    yield start
    for demo in opened:
        demo.__exit__(None, None, None)


def check(demo: DemoEnvironment, name: str) -> RunResult:
    return demo.services.checks.run(name, trigger="test")


def trace(demo: DemoEnvironment, name: str, number: str) -> InvoiceTrace:
    return demo.services.checks.trace(name, number, trigger="test")[1]


def one(result: RunResult, code: str, subject: str | None = None) -> Finding:
    [found] = [f for f in result.findings if f.code == code and subject in (None, f.subject)]
    return found


def aroflo_invoice(world: dict[str, Any], number: str) -> dict[str, Any]:
    invoice: dict[str, Any] = next(i for i in world["aroflo"]["invoices"] if i["invoicenumber"] == number)
    return invoice


def sparky_books(world: dict[str, Any]) -> dict[str, Any]:
    tenant: dict[str, Any] = world["xero_trades"]["tenants"][0]
    return tenant


def stamp(moment: datetime) -> str:
    """AroFlo's ``lastupdateddatetimeutc``: ``YYYY/MM/DD hh:mm:ss``."""
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S")


# -- the seeds' job-app stories ---------------------------------------------------------------


def test_invoices_stuck_until_someone_posts_them_from_aroflo(world: dict[str, Any], run: Any) -> None:
    # No middleware: AroFlo posts to Xero itself, from Integration > Sync data, by hand.
    keep(world, "sparky")
    sparky = world["demo"]["integrations"]["sparky"]
    del sparky["middleware"]
    del world["demo"]["credentials"]["sparky"]["middleware"]
    sparky["mappings"]["accounts"]["4-1020"] = "200"
    demo = run(world)
    result = check(demo, "sparky")
    stuck = one(result, "jobapp.manual_sync")
    assert stuck.severity is Severity.FAIL and stuck.system == "aroflo"
    assert [row["number"] for row in stuck.evidence["invoices"]] == ["1043", "1044", "1046"]
    assert stuck.impact.amounts == {"AUD": Decimal("992.20")}
    assert "Integration* menu → *Sync data*" in result.remediation_for(stuck)
    steps = {s.label: s for s in trace(demo, "sparky", "1044").steps}
    posted = steps["Sent to accounting by AroFlo"]
    assert (posted.ok, posted.detail) == (False, "not yet, by AroFlo's own record")


def test_a_job_reinvoiced_under_a_new_number_while_xero_holds_the_old_one(world: dict[str, Any], run: Any) -> None:
    demo = run(keep(world, "sparky"))
    reissue = one(check(demo, "sparky"), "jobapp.reissued")
    ev = reissue.evidence
    assert (reissue.subject, ev["job"], ev["previous"], ev["why"], ev["total"]) == (
        "1046",
        "J-2207",
        "1040",
        "same_total",
        "418.00",
    )
    assert ev["destination_copy"]["number"] == "1040" and ev["destination_copy"]["status"] == "open"
    assert reissue.impact.invoices == ("1046",) and reissue.system == "xero"
    step = next(s for s in trace(demo, "sparky", "1046").steps if s.code == "jobapp.reissued")
    assert step.detail == "it re-issues job J-2207, already synced as 1040: syncing it would bill twice"


def test_a_nominal_code_with_no_account_mapping_blocks_its_invoices(world: dict[str, Any], run: Any) -> None:
    demo = run(keep(world, "torque"))
    result = check(demo, "torque")
    tyres = one(result, "mapping.account_code", "Tyres")
    assert (tyres.evidence["reason"], tyres.evidence["lines"], tyres.evidence["source_codes"]) == (
        "unmapped",
        2,
        ["Tyres"],
    )
    assert sorted(tyres.impact.invoices) == ["TM-1003", "TM-1004"] and tyres.impact.amounts == {
        "GBP": Decimal("612.00")
    }
    assert trace(demo, "torque", "TM-1003").verdict == "TM-1003 is not in Xero because account Tyres is unmapped."
    assert any("Sync now" in note for note in result.cannot_tell)
    # the export has no emails: said once, not warned per customer
    assert not [f for f in result.findings if f.code == "contact.missing_email"]


def test_a_new_aroflo_customer_named_like_a_different_xero_contact(world: dict[str, Any], run: Any) -> None:
    keep(world, "sparky")
    world["aroflo"]["clients"].append(
        {"clientid": "C-JS", "clientname": "Jane Smith", "email": "jane@smithelectrical.example"}
    )
    world["aroflo"]["invoices"].append(
        {
            "invoicenumber": "1047",
            "status": "approved",
            "dateinvoiced": aroflo_invoice(world, "1046")["dateinvoiced"],
            "client": {"orgid": "C-JS", "orgname": "Jane Smith"},
            "lines": [
                {
                    "ordercode": "LAB",
                    "description": "Fault finding",
                    "qtybilled": 1,
                    "price": 95,
                    "accountcode": "4-1010",
                }
            ],
        }
    )
    sparky_books(world)["contacts"].append({"Name": "Jane Smith", "EmailAddress": "jane@smithhomes.example"})
    demo = run(world)
    collision = one(check(demo, "sparky"), "contact.name_collision", "Jane Smith")
    assert collision.evidence["reason"] == "destination_has_name"
    assert [c["email"] for c in collision.evidence["source_contacts"]] == ["jane@smithelectrical.example"]
    assert [c["email"] for c in collision.evidence["destination_contacts"]] == ["jane@smithhomes.example"]
    assert collision.impact.invoices == ("1047",)


# -- the middle of the pipe -------------------------------------------------------------------


def test_the_make_scenario_switched_off_after_three_errors(world: dict[str, Any], run: Any) -> None:
    demo = run(keep(world, "sparky"))
    result = check(demo, "sparky")
    assert result.middleware == "make" and result.api_calls["make"] >= 5
    off = one(result, "middleware.disabled")
    assert (off.evidence["reason"], off.evidence["consecutive_errors"], off.evidence["schedule"]) == (
        "errors",
        3,
        "every 15 minutes",
    )
    assert off.evidence["last_errors"][0]["module"] == "Xero - Create an invoice"
    assert sorted(off.impact.invoices) == ["1043", "1044", "1046"]
    assert result.middleware_note == (
        "Make scenario 'AroFlo approved invoices to Xero': switched off after repeated errors: nothing moves until it is on again"
    )
    verdict = trace(demo, "sparky", "1043").verdict
    assert verdict.startswith(
        "1043 is not in Xero because the Make scenario 'AroFlo approved invoices to Xero' is switched off"
    )


def test_an_invoice_changed_after_the_last_run_waits_for_the_next_poll(world: dict[str, Any], run: Any) -> None:
    keep(world, "sparky")
    world["demo"]["integrations"]["sparky"]["mappings"]["accounts"]["4-1020"] = "200"
    scenario = world["make"]["scenarios"][0]
    scenario["executions"] = [{"minutes_ago": 6, "status": "success"}, {"minutes_ago": 21, "status": "success"}]
    now = datetime.now(UTC)
    fresh = aroflo_invoice(world, "1044")
    fresh["dateinvoiced"] = now.date().isoformat()
    fresh["lastupdateddatetimeutc"] = stamp(now - timedelta(minutes=3))
    demo = run(world)
    result = check(demo, "sparky")
    assert not [f for f in result.findings if f.code.startswith("middleware.")]
    assert "1044" not in [
        row["number"] for f in result.findings if f.code == "sync.unsynced" for row in f.evidence["invoices"]
    ]
    verdict = trace(demo, "sparky", "1044").verdict
    assert verdict.startswith("1044 is not in Xero yet: it changed ")
    assert "after Make's last run" in verdict and verdict.endswith("it is waiting for the next poll, not lost.")


def test_a_make_organisation_in_another_zone(world: dict[str, Any], run: Any) -> None:
    keep(world, "sparky")
    world["make"]["organizations"][0]["zone"] = "eu2.make.com"
    result = check(run(world), "sparky")
    zone = one(result, "connection.wrong_tenant", "make")
    assert zone.evidence["message"] == "User has no organization in the zone: organisation 21 is not in eu1.make.com"
    assert "Make" in result.remediation_for(zone)
    # the rest of the report still ran: the job-app and Xero findings are there
    assert one(result, "jobapp.reissued").subject == "1046"


ZAPIER_WORLD: dict[str, Any] = {
    "grants": [{"access_token": "zat-sparky", "scopes": ["zap:all", "zap:runs", "authentication"], "principal": 7}],
    "authentications": [{"id": "auth-xero", "app": "app-xero", "title": "Xero (Sparky)", "expired": True}],
    "zaps": [
        {
            "id": "104445735",
            "run_id": 104445735,
            "title": "AroFlo invoices to Xero",
            "enabled": False,
            "owner": 7,
            "last_success_minutes_ago": 4000,
            "steps": [
                {"app": "app-aroflo", "title": "New invoice"},
                {"app": "app-xero", "authentication": "auth-xero"},
            ],
            "runs": [{"start_minutes_ago": 30, "status": "error"}, {"start_minutes_ago": 45, "status": "error"}],
        }
    ],
}


def zapier_sparky(world: dict[str, Any], *, connected: bool) -> dict[str, Any]:
    keep(world, "sparky")
    world["zapier"] = copy.deepcopy(ZAPIER_WORLD)
    sparky = world["demo"]["integrations"]["sparky"]
    sparky["middleware"] = {"system": "zapier", "zap_id": "104445735", "plan": "free", "base_url": "{url:zapier}"}
    credentials = world["demo"]["credentials"]["sparky"]
    del credentials["middleware"]
    if connected:
        credentials["middleware"] = {
            "access_token": "zat-sparky",
            "expires_in": 3600,
            "scopes": ["zap:all", "zap:runs", "authentication"],
        }
    return world


def test_a_zap_switched_off_with_an_expired_xero_account(world: dict[str, Any], run: Any) -> None:
    result = check(run(zapier_sparky(world, connected=True)), "sparky")
    off = one(result, "middleware.disabled")
    assert (off.evidence["reason"], off.evidence["error_messages_available"], off.system) == (
        "unknown",
        False,
        "zapier",
    )
    assert off.evidence["url"] == "https://zapier.com/webintent/edit-zap/104445735"
    expired = one(result, "middleware.connection_expired")
    assert (expired.subject, expired.evidence["reason"]) == ("Xero (Sparky)", "expired")
    notes = "; ".join(result.cannot_tell)
    assert "Zapier (middleware) does not say the error message and failing step of a Zap run" in notes
    assert "Zapier (middleware) does not expose incomplete runs, usage against its plan" in notes


def test_without_a_zapier_token_the_report_says_what_it_cannot_see(world: dict[str, Any], run: Any) -> None:
    result = check(run(zapier_sparky(world, connected=False)), "sparky")
    missing = one(result, "middleware.not_connected")
    assert missing.severity is Severity.WARN and missing.evidence["public_integration_needed"] is True
    assert any("published in its App Directory" in note for note in result.cannot_tell)
    assert one(result, "jobapp.reissued").subject == "1046"  # the rest of the run went on


def test_a_generic_app_signing_its_requests_gets_every_check(world: dict[str, Any], run: Any) -> None:
    keep(world, "sparky")
    today = datetime.now(UTC).date()
    world["jobapp"]["auth"] = {
        "kind": "hmac",
        "secret": "gen-secret",
        "header": "X-Signature",
        "timestamp_header": "X-Timestamp",
    }
    world["jobapp"]["paging"] = {"kind": "cursor", "size_param": "limit", "default_size": 2}
    world["jobapp"]["endpoints"] = {
        "/v1/invoices": {
            "records": [
                {
                    "no": f"G-{i}",
                    "on": (today - timedelta(days=i + 2)).isoformat(),
                    "state": "issued",
                    "sum": "95.00",
                    "client": "Northside Cafe",
                    "mail": "lee@northsidecafe.example",
                    "items": [{"sku": "LAB" if i else "LAB-X", "amount": "95.00", "code": "4-1010"}],
                }
                for i in range(5)
            ]
        }
    }
    world["demo"]["integrations"]["gen"] = {
        "source": {
            "system": "generic",
            "base_url": "{url:jobapp}",
            "feed": {
                "auth": {"kind": "hmac", "header": "X-Signature", "timestamp_header": "X-Timestamp"},
                "paging": {"kind": "cursor", "size_param": "limit", "size": 2, "next_path": "$.meta.next_cursor"},
                "endpoints": {"invoices": {"path": "/v1/invoices", "records": "$.data[*]"}},
                "mapping": {
                    "invoice": {
                        "number": "$.no",
                        "date": "$.on",
                        "status": {"path": "$.state", "values": {"issued": "open"}},
                        "total": "$.sum",
                        "currency": {"const": "AUD"},
                        "contact_name": "$.client",
                        "contact_email": "$.mail",
                        "lines": "$.items[*]",
                    },
                    "line": {"sku": "$.sku", "amount": "$.amount", "account_code": "$.code"},
                },
            },
        },
        "destination": world["demo"]["integrations"]["sparky"]["destination"],
        "mappings": {"accounts": {"4-1010": "200"}},
    }
    world["demo"]["credentials"]["gen"] = {
        "source": {"api_key": "gen-secret"},
        "destination": world["demo"]["credentials"]["sparky"]["destination"],
    }
    result = check(run(world), "gen")
    assert result.api_calls["generic"] == 3  # 5 invoices, 2 a page, cursor in the body
    missing = one(result, "sku.missing", "LAB-X")
    assert missing.impact.invoices == ("G-0",)
    unsynced = one(result, "sync.unsynced")
    assert unsynced.evidence["count"] == 5


def test_a_mapping_that_does_not_fit_the_export_is_one_clear_error(world: dict[str, Any], run: Any) -> None:
    keep(world, "torque")
    world["demo"]["integrations"]["torque"]["source"]["feed"]["mapping"] = {"invoice": {"number": "$['Invoice No']"}}
    result = check(run(world), "torque")
    mismatch = one(result, "jobapp.feed_mismatch")
    assert mismatch.severity is Severity.ERROR and mismatch.subject == "torqueflow"
    assert (
        mismatch.evidence["field"] == "feed.mapping.invoice.number" and mismatch.evidence["path"] == "$['Invoice No']"
    )
    assert "no key 'Invoice No' at $ (keys there: Date, Customer, Invoice #" in mismatch.evidence["message"]
    assert '"Invoice #": "TM-1001"' in mismatch.evidence["sample"]
    assert "source.feed" in result.remediation_for(mismatch)
