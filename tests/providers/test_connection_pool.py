"""Clients made by ``make_httpx_client`` share the process's connection pool (a sweep reuses
kept-alive connections instead of opening two per run), keep it open when they close, and
still honour a proxy set in the environment. Real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from providers import http
from providers.http import make_httpx_client
from sandbox.server import LoopbackServer


async def tells_the_callers_port(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app answering with the port the request came from (one port: one connection)."""
    body = f'{{"port": {scope["client"][1]}, "target": "{scope["path"]}"}}'.encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    started = LoopbackServer(tells_the_callers_port).start()
    yield started
    started.stop()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    http._proxies_in_environment.cache_clear()
    yield
    http._proxies_in_environment.cache_clear()


def test_clients_one_after_another_reuse_one_connection(server: LoopbackServer, no_proxy_env: None) -> None:
    first = make_httpx_client(server.url)
    port = first.get("/a").json()["port"]
    first.close()  # a run ends: its client closes, the pool and its connection stay
    second = make_httpx_client(server.url)
    try:
        assert second.get("/b").json()["port"] == port
    finally:
        second.close()


def test_a_proxy_in_the_environment_is_honoured(
    server: LoopbackServer, no_proxy_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = LoopbackServer(tells_the_callers_port).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        http._proxies_in_environment.cache_clear()
        with make_httpx_client() as client:
            answer = client.get(f"{server.url}/through").json()
        # the proxy got the request in absolute form: it, not the server, answered
        assert answer["target"].endswith("/through") and answer["target"] != "/through"
    finally:
        proxy.stop()
