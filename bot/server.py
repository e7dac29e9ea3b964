"""The HTTP server: Slack's requests, the health check, the OAuth consent round trip.

    POST /slack/events                 slash commands, interactivity, events (Bolt)
    GET  /healthz                      database reachable + configuration loaded + the scheduler, as JSON
    GET  /metrics                      Prometheus text: sweeps, checks, findings, provider calls, actions, alerts
    GET  /oauth/<provider>/start       ?link=... (a signed link Sync Doctor issued) -> consent screen
    GET  /oauth/<provider>/callback    the provider's redirect: check the organisation, store the tokens,
                                       say so in HTML; then re-run the checks and say so in Slack

A Starlette app served by uvicorn. Bolt's Starlette adapter converts requests both ways; the
sync ``App.dispatch`` runs in a worker thread (the adapter would call it on the event loop,
where a slow middleware would stall every other request, /healthz included).

Before Bolt sees a request, its signature is checked here (``bot/signature.py``), and the
signature must not have been seen before (``service/replays.py``): anything else is a 401 on
the spot, so no listener or error handler ever runs for it and nothing is posted to a
``response_url`` it carries.

With ``SLACK_APP_TOKEN`` set, Slack's requests come over Socket Mode instead, and this server
still answers /healthz and the OAuth routes.

Shutdown: uvicorn stops accepting on SIGTERM / SIGINT and lets requests in flight finish
(``timeout_graceful_shutdown``); then commands still running get up to ``DRAIN_SECONDS`` to post
their answers before the process exits.
"""

from __future__ import annotations

import html
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from actions.errors import ConnectError, InvalidLink, WrongOrganisation
from bot import signature
from bot.blocks.results import display
from bot.errors import new_ref
from bot.slack_app import BotRuntime, create_app
from config.logging import redact
from service.container import Services

logger = logging.getLogger(__name__)

GRACEFUL_SECONDS = 20  # uvicorn: requests in flight get this long after SIGTERM
DRAIN_SECONDS = 25  # then commands still running get this long to answer

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sync Doctor: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5}}</style>
</head><body><h1>{title}</h1><p>{body}</p></body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A plain page; both texts are escaped here (and never carry a token)."""
    return HTMLResponse(PAGE.format(title=html.escape(title), body=html.escape(redact(body))), status_code=status)


def refused() -> Response:
    """Slack's requests that are not accepted: the same answer whatever the reason."""
    return JSONResponse({"error": "invalid request"}, status_code=401)


def make_asgi_app(services: Services, bot: BotRuntime, *, demo: bool = False) -> Starlette:
    """The HTTP routes around ``bot``'s Bolt app; ``demo`` is reported by /healthz."""
    bolt = bot.app
    started = time.time()
    secret = services.settings.slack_signing_secret or ""

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        verdict = signature.verify(request.headers, body, secret, time.time())
        if isinstance(verdict, signature.Refused):
            logger.info("refused a request to /slack/events: %s", verdict.reason)
            return refused()
        if not await run_in_threadpool(services.replays.first_time, verdict.signature, verdict.replayable_until):
            logger.warning("refused a replayed request to /slack/events (sent at %s)", verdict.timestamp)
            return refused()
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    def _health() -> tuple[int, dict[str, Any]]:
        report: dict[str, Any] = {
            "status": "ok",
            "integrations": len(services.config.integrations),
            "config": services.config.path,
            "mode": "socket" if services.settings.slack_app_token else "http",
            "demo": demo,
            "uptime_s": round(time.time() - started, 1),
            "commands_running": bot.pool.active,
        }
        problem = services.database_problem()
        if problem is None:
            report["database"] = "ok"
            report["scheduler"] = services.scheduler_report()
        else:
            logger.warning("healthz: database unreachable: %s", problem)
            report["database"] = f"unreachable ({problem})"
            report["status"] = "unhealthy"
        return (200 if report["status"] == "ok" else 503), report

    async def healthz(request: Request) -> Response:
        status, report = await run_in_threadpool(_health)
        return JSONResponse(report, status_code=status)

    async def metrics(request: Request) -> Response:
        from service import metrics as service_metrics

        body = await run_in_threadpool(service_metrics.render)
        return Response(body, media_type=service_metrics.CONTENT_TYPE)

    async def oauth_start(request: Request) -> Response:
        try:
            url = await run_in_threadpool(
                services.consent.open_link, request.query_params.get("link", ""), request.path_params["provider"]
            )
        except InvalidLink as e:
            # Unknown systems and integrations, forged, expired and used links: one answer.
            return page("Link not valid", str(e), 404)
        except ConnectError as e:
            return page("Cannot connect yet", str(e), 400)
        return RedirectResponse(url, status_code=302)

    async def oauth_callback(request: Request) -> Response:
        provider = request.path_params["provider"]
        try:
            connected = await run_in_threadpool(
                services.consent.finish, provider, str(request.url), actor="oauth-callback"
            )
        except InvalidLink as e:
            return page("Not connected", str(e), 400)
        except WrongOrganisation as e:
            return page("Not connected: another organisation", str(e), 409)
        except ConnectError as e:
            return page("Not connected", str(e), 400)
        except Exception as e:
            ref = new_ref()
            logger.error("ref %s: OAuth callback for %s failed: %s", ref, provider, type(e).__name__, exc_info=e)
            return page(
                "Not connected", f"Something went wrong finishing the connection (ref {ref}). Start again.", 500
            )
        # off this page's path: re-run the checks and say so in Slack
        bot.pool.submit(
            lambda: bot.desk.reconnected(connected.integration, display(connected.system), connected.side),
            ref=[new_ref()],
            respond=None,
            what=f"announcing the reconnection of {connected.integration}",
            response_type="ephemeral",
        )
        tenant = f" (organisation {connected.tenant})" if connected.tenant else ""
        body = (
            f"{display(connected.system)}{tenant} is now connected as the {connected.side} of "
            f"{connected.integration}. You can close this tab and run /sync-check {connected.integration} in Slack."
        )
        return page("Connected", body)

    routes = [Route("/slack/events", slack_events, methods=["POST"])] if services.settings.slack_signing_secret else []
    return Starlette(
        routes=[
            *routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/oauth/{provider}/start", oauth_start, methods=["GET"]),
            Route("/oauth/{provider}/callback", oauth_callback, methods=["GET"]),
        ]
    )


def _absorb_reraised_signals() -> Callable[[], None]:
    """Let ``serve`` return normally after a graceful stop.

    uvicorn handles SIGTERM / SIGINT itself while it runs, then, once shut down, restores the
    previous handlers and raises the signal again "to trigger the expected behaviour"
    (uvicorn/server.py ``capture_signals``). With the default handlers that kills the process
    before the commands still running have answered. These handlers, the ones uvicorn
    restores, only note it; the caller drains, and the process exits 0."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {
        sig: signal.signal(sig, lambda signum, frame: logger.info("signal %s: stopping", signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


class _AnnouncingServer(uvicorn.Server):
    """Says "listening on" once the socket is bound, so whoever waits for that line (an operator,
    a supervisor, a test) can connect at once."""

    def __init__(self, config: uvicorn.Config, *, integrations: int) -> None:
        super().__init__(config)
        self._integrations = integrations

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            logger.info(
                "Sync Doctor listening on %s:%s (%d integrations)",
                self.config.host,
                self.config.port,
                self._integrations,
            )


def serve(services: Services, *, demo: bool = False, host: str = "0.0.0.0", port: int | None = None) -> None:
    """Serve until SIGTERM / SIGINT, then finish what is in flight and return (the caller
    closes ``services``, which announces the runs still queued)."""
    from service import metrics

    settings = services.settings
    metrics.install(services)  # /metrics counts this process's runs and calls
    bot = create_app(services)
    asgi = make_asgi_app(services, bot, demo=demo)
    socket_handler = None
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_handler = SocketModeHandler(bot.app, settings.slack_app_token)
        socket_handler.connect()  # returns at once; the socket client runs its own threads
        logger.info("Slack: Socket Mode connected (SLACK_APP_TOKEN set); HTTP serves /healthz and OAuth")
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's records go through the process's handler, in its one format
        access_log=False,  # request lines would carry OAuth codes in query strings
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    server = _AnnouncingServer(config, integrations=len(services.config.integrations))
    restore = _absorb_reraised_signals()
    try:
        server.run()
    finally:
        restore()
        if socket_handler is not None:
            socket_handler.close()
        bot.shutdown(DRAIN_SECONDS)
        logger.info("Sync Doctor stopped")
