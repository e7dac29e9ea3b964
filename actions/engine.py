"""Running an approved action's steps exactly once, whatever stops the process on the way.

The caller has claimed the action (``running``, a lease in this process's name). Steps run in
order: contacts and items first, then invoices, then a consent link. Invoices go in waves of
:data:`WAVE` looked up together, each wave's requests ``parallel`` at a time (the tenant's
concurrency limit): batches of ``batch_size`` where the provider has a batch endpoint (it
overrides ``push_invoices``), single pushes where it has none. Per wave:

1. commit each step ``sending`` (its idempotency key was stored with it at request time);
2. look the numbers up in the destination (:class:`actions.lookup.DestinationLookup`): a live
   copy is adopted, or, for a step an earlier attempt already sent, recorded as succeeded;
3. commit ``attempts + 1`` on the steps about to be sent, then send (``push_invoice`` for one,
   ``push_invoices`` for a batch), batches side by side within the tenant's concurrency;
4. with the reply in hand, commit what each step became.

A process killed anywhere in there leaves steps ``sending``; the next run of the action (a
resume) starts again at 2, so an invoice whose request landed is found, not pushed twice, and
the same idempotency key goes out if it is sent again. Transient errors (429, 5xx, timeouts,
dropped connections, unreadable answers) are retried ``retries`` times, waiting what
Retry-After says (or a jittered backoff), looking the invoices up again before each retry.
Permanent errors stop the step at once with the system's reason and the finding it maps to
(:mod:`actions.reasons`); a duplicate-number refusal is looked up and adopted instead.

Progress is reported to a callback (outside any database transaction) at each phase:
``marked`` (steps committed sending), ``sending`` (requests about to leave), ``replied``
(answers in hand, not yet written), ``recorded`` (written) and ``finished``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from actions.consent import ConsentLinks
from actions.errors import ConnectError
from actions.lookup import DestinationLookup
from actions.plans import Plan, PlannedInvoice
from actions.reasons import Reason, existing_id, reason_for, transient
from actions.states import LANDED, STEP_DONE, StepKind, StepState
from actions.steps import Step, StepBook
from checks.context import SideData
from config.integrations import IntegrationConfig
from providers.base import Provider
from providers.errors import ProviderError, RateLimited
from providers.records import Invoice, WriteResult

logger = logging.getLogger(__name__)

BATCH_SIZE = 50  # invoices per batch push (Xero advises about 50 elements a request)
MAX_PARALLEL = 5  # requests in flight at once, at most the tenant's concurrency limit
WAVE = 250  # invoices looked up together before their pushes
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 3  # after the first try
    backoff: float = 0.5  # seconds, doubled each retry, with jitter
    max_wait: float = 120.0  # a longer Retry-After fails the step instead of holding the action

    def wait(self, errors: Sequence[ProviderError], retry: int) -> float | None:
        """How long to wait before retry number ``retry``; None when it would be too long."""
        asked = [e.retry_after for e in errors if isinstance(e, RateLimited) and e.retry_after is not None]
        wait = max(asked) if asked else self.backoff * (2.0 ** (retry - 1)) * random.uniform(0.5, 1.0)
        return None if wait > self.max_wait else wait


@dataclass(frozen=True, slots=True)
class Progress:
    action_id: int
    phase: str  # marked | sending | replied | recorded | finished
    total: int
    done: int
    succeeded: int
    adopted: int
    failed: int
    refs: tuple[str, ...] = ()  # the steps this phase is about


ProgressCallback = Callable[[Progress], None]


@dataclass
class EngineResult:
    link: str | None = None  # a reauthorise action's consent link (never stored)
    steps: list[Step] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        owner: str,
        clock: Callable[[], datetime],
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
    ) -> None:
        self.sessions = sessions
        self.owner = owner
        self.clock = clock
        self.retry = retry
        self.sleep = sleep
        self.batch_size = batch_size
        self.lease = lease

    def run(
        self,
        action_id: int,
        integration: IntegrationConfig,
        plan: Plan,
        destination: Provider | None,
        *,
        links: ConsentLinks | None = None,
        issued_to: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> EngineResult:
        run = _Run(self, action_id, integration, plan, destination, on_progress)
        return run.execute(links, issued_to)


class _Run:
    """One run of one action (a resume is another run)."""

    def __init__(
        self,
        engine: Engine,
        action_id: int,
        integration: IntegrationConfig,
        plan: Plan,
        destination: Provider | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.engine = engine
        self.action_id = action_id
        self.integration = integration
        self.plan = plan
        self.provider = destination
        self.on_progress = on_progress
        self.side = SideData("destination", integration.destination, destination) if destination else None
        self.book = StepBook(
            engine.sessions,
            action_id=action_id,
            integration=integration.name,
            system=plan.destination,
            environment=integration.destination.environment,
            owner=engine.owner,
            clock=engine.clock,
            lease=engine.lease,
        )
        self.steps = self.book.load()
        self.invoices = {i.number: i for i in plan.invoices}
        self.contacts = {c.key: c for c in plan.contacts}
        self.items = {i.code: i for i in plan.items}

    # -- the run ----------------------------------------------------------------------------

    def execute(self, links: ConsentLinks | None, issued_to: str | None) -> EngineResult:
        result = EngineResult(steps=self.steps)
        for step in self.steps:
            if step.kind in (StepKind.CONTACT, StepKind.ITEM) and not step.done:
                self._single(step)
        invoices = [s for s in self.steps if s.kind == StepKind.INVOICE and not s.done]
        if invoices:
            self._invoices(invoices)
        for step in self.steps:
            if step.kind == StepKind.LINK and not step.done:
                result.link = self._link(step, links, issued_to)
        self._progress("finished", ())
        return result

    # -- contacts and items: one at a time, the provider looks each up before creating it ---

    def _single(self, step: Step) -> None:
        assert self.provider is not None
        self._mark_sending([step])
        provider = self.provider
        if step.kind == StepKind.CONTACT:
            contact = self.contacts[step.ref]

            def write(key: str) -> WriteResult:
                return provider.create_contact(contact.to_contact(), idempotency_key=key)
        else:
            item = self.items[step.ref]

            def write(key: str) -> WriteResult:
                return provider.create_item(item.to_item(), idempotency_key=key)

        while True:
            self.book.count_attempt([step])
            self._progress("sending", (step.ref,))
            try:
                answer: WriteResult | ProviderError = write(step.key)
            except ProviderError as e:
                answer = e
            self._progress("replied", (step.ref,))
            if isinstance(answer, ProviderError) and transient(answer):
                wait = self._retry_wait([step], [answer])
                if wait is not None:
                    self._wait(wait)
                    continue
            self._record([(step, answer)])
            return

    # -- invoices: waves of batches, looked up before every send ----------------------------

    def _invoices(self, steps: list[Step]) -> None:
        assert self.provider is not None
        lookup = DestinationLookup(self.provider, today=lambda: self.engine.clock().date())
        parallel = max(1, min(MAX_PARALLEL, self.provider.options.limits.concurrent or 1))
        # Without a batch endpoint of its own a provider sends one invoice a request: then the
        # invoices themselves go ``parallel`` at a time.
        batched = type(self.provider).push_invoices is not Provider.push_invoices
        chunk = self.engine.batch_size if batched else 1
        for start in range(0, len(steps), WAVE):
            self.book.renew()
            wave = steps[start : start + WAVE]
            self._mark_sending(wave)
            pending = wave
            while pending:
                found = self._look_up(pending, lookup)
                pending = self._attempt(pending, found, chunk, parallel) if found is not None else []

    def _look_up(self, pending: list[Step], lookup: DestinationLookup) -> dict[str, Invoice] | None:
        """The live destination copies of ``pending``; a failing look-up is retried on its own
        budget (it is the wave's, not any one invoice's); None when it failed for good (the
        steps are then failed with its reason)."""
        policy = self.engine.retry
        retry = 0
        while True:
            try:
                return lookup.find([s.ref for s in pending])
            except ProviderError as e:
                retry += 1
                wait = policy.wait([e], retry) if transient(e) and retry <= policy.retries else None
                if wait is None:
                    self._record([(s, e) for s in pending])
                    return None
                self.book.retrying(pending, e.message, wait, "look-up")
                self._wait(wait)

    def _attempt(self, pending: list[Step], found: dict[str, Invoice], chunk: int, parallel: int) -> list[Step]:
        """Adopt what is there, send what is missing, record; the steps to retry (after the wait)."""
        self._record_found([(s, found[s.ref]) for s in pending if s.ref in found])
        to_send: list[tuple[Step, Invoice]] = []
        skipped: list[tuple[Step, Reason]] = []
        for step in pending:
            if step.done:
                continue
            record, blocked = self._invoice_record(self.invoices[step.ref])
            if blocked is not None:
                skipped.append((step, blocked))
            else:
                to_send.append((step, record))
        self._skip(skipped)
        if not to_send:
            return []
        self.book.count_attempt([s for s, _ in to_send])
        batches = [to_send[i : i + chunk] for i in range(0, len(to_send), chunk)]
        retry: list[Step] = []
        errors: list[ProviderError] = []
        for answers in self._send(batches, parallel):
            self._progress("replied", tuple(s.ref for s, _ in answers))
            for step, answer in answers:
                if isinstance(answer, ProviderError) and transient(answer):
                    retry.append(step)
                    errors.append(answer)
            self._record([(s, a) for s, a in answers if s not in retry])
            self.book.keep()  # a wave of single pushes at 60 a minute can outlast the lease
        if not retry:
            return []
        wait = self._retry_wait(retry, errors)
        if wait is None:
            return []
        self._wait(wait)
        return retry

    def _send(
        self, batches: list[list[tuple[Step, Invoice]]], parallel: int
    ) -> Iterator[list[tuple[Step, WriteResult | ProviderError]]]:
        """Each batch's answers, as each batch comes back."""
        if len(batches) == 1:
            self._progress("sending", tuple(s.ref for s, _ in batches[0]))
            yield self._push(batches[0])
            return
        with ThreadPoolExecutor(min(parallel, len(batches)), thread_name_prefix=f"push-{self.action_id}") as pool:
            futures: dict[Future[list[tuple[Step, WriteResult | ProviderError]]], int] = {}
            for index, batch in enumerate(batches):
                self._progress("sending", tuple(s.ref for s, _ in batch))
                futures[pool.submit(self._push, batch)] = index
            for future in as_completed(futures):
                yield future.result()

    def _push(self, batch: list[tuple[Step, Invoice]]) -> list[tuple[Step, WriteResult | ProviderError]]:
        provider = self.provider
        assert provider is not None
        try:
            if len(batch) == 1:
                step, invoice = batch[0]
                return [(step, provider.push_invoice(invoice, idempotency_key=step.key))]
            keys = {invoice.number: step.key for step, invoice in batch}
            answers = provider.push_invoices([inv for _, inv in batch], idempotency_key_for=lambda i: keys[i.number])
        except ProviderError as e:  # the whole request failed: every invoice in it gets its error
            return [(step, e) for step, _ in batch]
        return list(zip([s for s, _ in batch], answers, strict=True))

    def _invoice_record(self, planned: PlannedInvoice) -> tuple[Invoice, Reason | None]:
        contact = planned.contact
        contact_id = contact.destination_id if contact else None
        if contact is not None and contact_id is None:
            made = next((s for s in self.steps if s.kind == StepKind.CONTACT and s.ref == contact.key), None)
            if made is None or made.state not in LANDED:
                why = made.error if made is not None and made.error else "it was not created"
                return planned.to_invoice(None), Reason(
                    f"its contact {contact.name} could not be created: {why}",
                    None,
                    made.finding if made is not None and made.finding else "sync.failed",
                )
            contact_id = made.destination_id
        return planned.to_invoice(contact_id), None

    # -- the consent link ---------------------------------------------------------------------

    def _link(self, step: Step, links: ConsentLinks | None, issued_to: str | None) -> str | None:
        if step.state == StepState.SENDING:
            # Issued by a run that stopped before handing it over: nobody holds it.
            self.book.finish_one(
                step, StepState.FAILED, error="the link was not delivered (the run stopped); ask again"
            )
            return None
        if links is None or issued_to is None:
            self.book.finish_one(step, StepState.FAILED, error="no consent link issuer is configured")
            return None
        consent = self.plan.consent
        assert consent is not None
        self._mark_sending([step])
        self.book.count_attempt([step])
        try:
            link = links.issue(self.integration.name, consent.side, issued_to)
        except (ConnectError, ProviderError) as e:
            self.book.finish_one(step, StepState.FAILED, error=str(e))
            return None
        self.book.finish_one(step, StepState.SUCCEEDED, reply={"issued_to": issued_to})
        return link

    # -- recording ----------------------------------------------------------------------------

    def _record_found(self, found: Sequence[tuple[Step, Invoice]]) -> None:
        if not found:
            return
        with self.book.transaction() as session:
            for step, invoice in found:
                # Sent by an earlier attempt of this action: it landed. Never sent: it was there.
                state = StepState.SUCCEEDED if step.attempts else StepState.ADOPTED
                self.book.finish(
                    session,
                    step,
                    state,
                    destination_id=invoice.id,
                    reply={"found_by": "look-up", "InvoiceNumber": invoice.number or step.ref},
                )
        self._progress("recorded", tuple(s.ref for s, _ in found))

    def _record(self, answers: Sequence[tuple[Step, WriteResult | ProviderError]]) -> None:
        duplicates = [(s, a) for s, a in answers if isinstance(a, ProviderError) and self._duplicate(s, a)]
        adopted = self._adopt_duplicates(duplicates)
        with self.book.transaction() as session:
            for step, answer in answers:
                if step in adopted:
                    invoice_id = adopted[step]
                    self.book.finish(
                        session,
                        step,
                        StepState.SUCCEEDED if step.attempts > 1 else StepState.ADOPTED,
                        destination_id=invoice_id,
                        reply={"found_by": "duplicate refusal", "id": invoice_id},
                    )
                elif isinstance(answer, WriteResult):
                    landed = StepState.SUCCEEDED if answer.created or step.attempts > 1 else StepState.ADOPTED
                    reply = {"id": answer.id, "created": answer.created, **answer.extra}
                    if answer.number:
                        reply["number"] = answer.number
                    self.book.finish(session, step, landed, destination_id=answer.id, reply=reply)
                else:
                    assert self.side is not None
                    reason = reason_for(answer, self.side)
                    self.book.finish(
                        session,
                        step,
                        StepState.FAILED,
                        error=reason.message,
                        code=reason.code,
                        finding=reason.finding,
                    )
        self._progress("recorded", tuple(s.ref for s, _ in answers))

    def _duplicate(self, step: Step, error: ProviderError) -> bool:
        assert self.side is not None
        return step.kind == StepKind.INVOICE and reason_for(error, self.side).finding == "sync.duplicate"

    def _adopt_duplicates(self, duplicates: Sequence[tuple[Step, WriteResult | ProviderError]]) -> dict[Step, str]:
        """A refusal saying the number is taken: the invoice holding it is the one to adopt."""
        adopted: dict[Step, str] = {}
        provider = self.provider
        for step, error in duplicates:
            assert isinstance(error, ProviderError) and provider is not None
            try:
                copy = provider.find_invoice(step.ref)
            except ProviderError:
                copy = None
            invoice_id = copy.id if copy is not None else existing_id(error)
            if invoice_id:
                adopted[step] = invoice_id
        return adopted

    def _skip(self, skipped: Sequence[tuple[Step, Reason]]) -> None:
        if not skipped:
            return
        with self.book.transaction() as session:
            for step, reason in skipped:
                self.book.finish(session, step, StepState.SKIPPED, error=reason.message, finding=reason.finding)
        self._progress("recorded", tuple(s.ref for s, _ in skipped))

    def _mark_sending(self, steps: Sequence[Step]) -> None:
        marked = self.book.mark_sending(steps)
        if marked:
            self._progress("marked", tuple(s.ref for s in marked))

    def _retry_wait(self, steps: Sequence[Step], errors: Sequence[ProviderError]) -> float | None:
        """The wait before retrying ``steps``; None (and the steps failed) when the retries are
        spent or the system asks for a longer wait than the policy allows."""
        policy = self.engine.retry
        retry = max(s.retries for s in steps) + 1
        wait = policy.wait(errors, retry) if retry <= policy.retries else None
        if wait is None:
            self._record([(s, errors[min(i, len(errors) - 1)]) for i, s in enumerate(steps)])
            return None
        for step in steps:
            step.retries = retry
        self.book.retrying(steps, errors[0].message, wait, "send")
        logger.info("action %s: %d steps wait %.2fs to retry (%s)", self.action_id, len(steps), wait, errors[0])
        return wait

    def _wait(self, seconds: float) -> None:
        """Sleep, renewing the lease as the wait goes on."""
        lease = self.engine.lease.total_seconds()
        while seconds > 0:
            chunk = min(seconds, lease / 2)
            self.engine.sleep(chunk)
            seconds -= chunk
            self.book.renew()

    def _progress(self, phase: str, refs: tuple[str, ...]) -> None:
        if self.on_progress is None:
            return
        states = [StepState(s.state) for s in self.steps]
        report = Progress(
            action_id=self.action_id,
            phase=phase,
            total=len(self.steps),
            done=sum(1 for s in states if s in STEP_DONE),
            succeeded=states.count(StepState.SUCCEEDED),
            adopted=states.count(StepState.ADOPTED),
            failed=sum(1 for s in states if s in (StepState.FAILED, StepState.SKIPPED)),
            refs=refs,
        )
        try:
            self.on_progress(report)
        except Exception:  # a progress display must never stop the writes it reports on
            logger.exception("action %s: the progress callback failed", self.action_id)
