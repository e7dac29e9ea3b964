"""``/sync-check``: refuse, explain or acknowledge at once; the slow run happens elsewhere.

Slack needs the HTTP 200 within 3 s (SLACK.md section 1). Bolt (HTTP mode,
``process_before_response=False``) sends it as soon as ``ack()`` is called, but runs each
listener on a small executor (5 threads by default): were the checks to run there, a sixth
command during five slow runs would not be acknowledged in time. So the listener only parses,
checks access, looks the integration up in the config (no I/O) and acks with a progress
message; the run itself goes to :class:`RunPool`, whose queue never blocks an ack. The answer
replaces the progress message through the ``response_url`` (``bot/publish.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import grammar
from bot.action_messages import Origin
from bot.blocks import approvals as action_blocks
from bot.blocks import help as help_blocks
from bot.blocks.home import list_message
from bot.blocks.results import display, result_messages
from bot.blocks.trace import trace_message
from bot.errors import new_ref, report_crash
from bot.permissions import AllowedChannels, Requester, refusal
from bot.publish import Reply
from config.integrations import IntegrationConfig
from service.container import Services
from service.lookup import UnknownIntegration

if TYPE_CHECKING:
    from bot.interactions import ActionDesk

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 8


class RunPool:
    """Threads for the slow part of commands (checks, traces); crashes become messages."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync-check")
        self._active = 0
        self._idle = threading.Condition()

    def submit(
        self, work: Callable[[], None], *, ref: list[str], respond: Any, what: str, response_type: str
    ) -> Future[None]:
        with self._idle:
            self._active += 1

        def run() -> None:
            try:
                work()
            except Exception as e:  # noqa: BLE001 - the pool's one containment, same report as app.error
                report_crash(e, ref=ref[0], respond=respond, what=what, response_type=response_type)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

        return self._executor.submit(run)

    @property
    def active(self) -> int:
        return self._active

    def drain(self, timeout: float) -> bool:
        """Wait until every submitted run has answered (True) or ``timeout`` passed (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    def shutdown(self, timeout: float = 25.0) -> None:
        if not self.drain(timeout):
            logger.warning("%d command(s) still running at shutdown; their answers are lost", self._active)
        self._executor.shutdown(wait=False, cancel_futures=True)


class SharedRuns:
    """One run per integration at a time: a ``/sync-check acme`` arriving while acme is being
    checked waits for that run and gets the same answer. Users retry when an answer is slow
    (SLACK.md section 1), and every duplicate run would spend the tenant's API quota again
    (Xero: 60 calls a minute per organisation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Reply]] = {}

    def join(self, integration: str, reply: Reply) -> bool:
        """True when a run is already in flight (``reply`` will get its answer); else the
        caller starts one and must call :meth:`finish`."""
        with self._lock:
            if integration in self._waiting:
                self._waiting[integration].append(reply)
                return True
            self._waiting[integration] = []
            return False

    def finish(self, integration: str) -> list[Reply]:
        with self._lock:
            return self._waiting.pop(integration, [])


class SyncCheckCommand:
    def __init__(self, services: Services, pool: RunPool, channels: AllowedChannels, desk: ActionDesk) -> None:
        self.services = services
        self.pool = pool
        self.channels = channels  # slack.allowed_channels, names resolved to ids at start
        self.desk = desk
        self.shared = SharedRuns()

    def __call__(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        who = Requester(command.get("user_id", ""), command.get("channel_id"), command.get("channel_name"))
        reason = refusal(self.services.config.slack, who, self.channels)
        if reason is not None:
            logger.info("refused /sync-check from %s in %s", who.user_id, who.channel_id)
            ack(response_type="ephemeral", **help_blocks.refused(reason).payload())
            return
        parsed = grammar.parse(command.get("text"))
        if isinstance(parsed, grammar.Help):
            ack(response_type="ephemeral", **help_blocks.help_message(integrations=self._names()).payload())
        elif isinstance(parsed, grammar.Usage):
            message = help_blocks.help_message(problem=parsed.problem, text=parsed.text, integrations=self._names())
            ack(response_type="ephemeral", **message.payload())
        elif isinstance(parsed, grammar.ListIntegrations):
            self._list(ack, respond)
        elif isinstance(parsed, (grammar.Check, grammar.Trace)):
            self._run(parsed, ack, command, respond, client)
        elif isinstance(parsed, grammar.Resync):
            self._resync(parsed, ack, command, respond)
        elif isinstance(parsed, grammar.Audit):
            self._audit(parsed, ack, respond)

    def _names(self) -> list[str]:
        return sorted(self.services.config.integrations)

    def _list(self, ack: Ack, respond: Respond) -> None:
        # ack first: reading the stored runs can wait on a database lock
        ack()
        ref = [new_ref()]

        def work() -> None:
            health = self.services.checks.overview()
            message = list_message(health) if health else help_blocks.no_integrations()
            respond(response_type="ephemeral", replace_original=False, **message.payload())

        self.pool.submit(work, ref=ref, respond=respond, what="listing the integrations", response_type="ephemeral")

    def _known(self, name: str, ack: Ack) -> IntegrationConfig | None:
        """The integration called ``name``; else acks with close names and answers None."""
        try:
            return self.services.checks.get(name)
        except UnknownIntegration as e:
            ack(response_type="ephemeral", **help_blocks.unknown_integration(e.name, e.suggestions).payload())
            return None

    def _resync(self, parsed: grammar.Resync, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        integration = self._known(parsed.integration, ack)
        if integration is None:
            return
        count = len(set(parsed.numbers))
        ack(response_type="ephemeral", **help_blocks.progress_resync(integration.name, count).payload())
        user = command.get("user_id", "")
        ref = [new_ref()]

        def tell(message: Any) -> None:
            respond(response_type="ephemeral", replace_original=True, **message.payload())

        def work() -> None:
            # the requester's message goes by DM: a slash command's answer cannot be edited later
            self.desk.ask(
                integration.name,
                "resync",
                {"numbers": list(parsed.numbers)},
                user=user,
                origin=Origin(),
                tell=tell,
            )

        self.pool.submit(work, ref=ref, respond=respond, what="asking for a re-sync", response_type="ephemeral")

    def _audit(self, parsed: grammar.Audit, ack: Ack, respond: Respond) -> None:
        integration = self._known(parsed.integration, ack)
        if integration is None:
            return
        ack()

        def work() -> None:
            entries = self.services.actions.audit(integration.name)
            message = action_blocks.audit_message(integration.name, entries)
            respond(response_type="ephemeral", replace_original=False, **message.payload())

        self.pool.submit(
            work, ref=[new_ref()], respond=respond, what="reading the audit trail", response_type="ephemeral"
        )

    def _run(
        self,
        parsed: grammar.Check | grammar.Trace,
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
    ) -> None:
        found = self._known(parsed.integration, ack)
        if found is None:
            return
        integration: IntegrationConfig = found
        ephemeral = integration.slack.ephemeral
        response_type = "ephemeral" if ephemeral else "in_channel"
        if isinstance(parsed, grammar.Trace):
            progress = help_blocks.progress_trace(integration.name, parsed.number)
        else:
            progress = help_blocks.progress_check(
                integration.name, display(integration.source.system), display(integration.destination.system)
            )
        ack(response_type=response_type, **progress.payload())
        reply = Reply(
            respond, client, channel_id=command.get("channel_id"), ephemeral=ephemeral, integration=integration.name
        )
        ref = [new_ref()]  # replaced by the run's own ref once it exists

        what = f"checking {integration.name}" if isinstance(parsed, grammar.Check) else f"tracing {parsed.number}"
        if isinstance(parsed, grammar.Trace):
            number = parsed.number

            def trace() -> None:
                result, trace = self.services.checks.trace(integration.name, number, trigger="slack")
                ref[0] = result.ref
                reply.send([trace_message(trace, result, self.desk.ids)])

            self.pool.submit(trace, ref=ref, respond=respond, what=what, response_type=response_type)
            return
        if self.shared.join(integration.name, reply):
            logger.info("/sync-check %s: joined the run in progress", integration.name)
            return

        def check() -> None:
            try:
                result = self.services.checks.run(integration.name, trigger="slack")
                ref[0] = result.ref
                messages = result_messages(result, self.desk.ids)
            except Exception as e:
                for other in self.shared.finish(integration.name):
                    report_crash(e, ref=ref[0], respond=other.respond, what=what, response_type=other.response_type)
                raise
            for other in self.shared.finish(integration.name):
                try:
                    other.send(messages)
                except Exception as e:  # noqa: BLE001 - one reply failing must not cost the others theirs
                    report_crash(e, ref=ref[0], respond=other.respond, what=what, response_type=other.response_type)
            reply.send(messages)  # a failure here is reported by the pool, like any other
            logger.info("run %s: answered /sync-check %s", result.ref, integration.name)

        self.pool.submit(check, ref=ref, respond=respond, what=what, response_type=response_type)


def register(
    app: App, services: Services, pool: RunPool, channels: AllowedChannels, desk: ActionDesk
) -> SyncCheckCommand:
    handler = SyncCheckCommand(services, pool, channels, desk)
    app.command(grammar.COMMAND)(handler)
    return handler
