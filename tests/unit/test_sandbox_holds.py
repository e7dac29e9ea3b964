"""Parking a request at a chosen point (``Emulator.hold``) and Xero's concurrency limit, over
real HTTP on loopback: what the crash tests and the bulk benchmark rely on."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from sandbox.server import LoopbackServer
from sandbox.xero import XeroEmulator

TENANT = "6a1c0e4e-0000-4000-8000-0000000000a1"
HEADERS = {"Authorization": "Bearer at-1", "xero-tenant-id": TENANT}
INVOICE = {"Type": "ACCREC", "Contact": {"Name": "Ada"}, "InvoiceNumber": "INV-1", "LineItems": []}


def xero(**section: Any) -> XeroEmulator:
    return XeroEmulator(
        {
            "grants": [{"access_token": "at-1", "refresh_token": "rt-1", "principal": [TENANT]}],
            "tenants": [{"id": TENANT, "name": "Acme"}],
            **section,
        }
    )


def put_invoice(url: str, answers: list[httpx.Response]) -> threading.Thread:
    def send() -> None:
        answers.append(httpx.put(f"{url}/api.xro/2.0/Invoices", json={"Invoices": [INVOICE]}, headers=HEADERS))

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_a_request_held_before_it_is_handled_changes_nothing_until_released() -> None:
    emulator = xero()
    server = LoopbackServer(emulator.app).start()
    try:
        hold = emulator.hold("PUT", "/api.xro/2.0/Invoices")
        answers: list[httpx.Response] = []
        thread = put_invoice(server.url, answers)
        assert hold.arrived.wait(10)
        assert emulator.org(TENANT).invoices == [] and not hold.done.is_set()
        hold.release()
        thread.join(10)
        assert hold.done.wait(10) and answers[0].status_code == 200
        assert [i["InvoiceNumber"] for i in emulator.org(TENANT).invoices] == ["INV-1"]
    finally:
        server.stop()


def test_a_request_held_after_it_is_handled_has_its_effect_before_the_answer() -> None:
    emulator = xero()
    server = LoopbackServer(emulator.app).start()
    try:
        hold = emulator.hold("PUT", "/api.xro/2.0/Invoices", phase="after")
        answers: list[httpx.Response] = []
        thread = put_invoice(server.url, answers)
        assert hold.arrived.wait(10)
        assert [i["InvoiceNumber"] for i in emulator.org(TENANT).invoices] == ["INV-1"] and answers == []
        hold.release()
        thread.join(10)
        assert answers[0].status_code == 200
    finally:
        server.stop()


def test_xero_refuses_a_sixth_request_in_flight_for_one_tenant() -> None:
    # Long enough that the six overlap even on a busy machine; the barrier sends them together.
    emulator = xero(faults={"latency_ms": 1500})
    server = LoopbackServer(emulator.app).start()
    try:
        answers: list[httpx.Response] = []
        lock = threading.Lock()
        together = threading.Barrier(6)

        def get() -> None:
            together.wait(10)
            answer = httpx.get(f"{server.url}/api.xro/2.0/Items", headers=HEADERS, timeout=10)
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=get) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        server.stop()
    refused = [a for a in answers if a.status_code == 429]
    assert len(answers) == 6 and len(refused) == 1 and emulator.concurrency_refused == 1
    assert refused[0].headers["X-Rate-Limit-Problem"] == "concurrent" and refused[0].headers["Retry-After"] == "1"
