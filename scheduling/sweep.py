"""The monitoring sweep: the cheap checks (``Check.cheap``) on every integration, every 15
minutes by default, through the check service like any other run (trigger ``schedule``: a run
is stored only when something changed; listeners hear of every run, so alerts follow).

The integrations of one sweep are rows of ``sweep_items``. The replica that claims the sweep's
period enqueues them in the same transaction; then its workers, and those of every replica
that lost the claim (``join``), take them a few at a time (:data:`BATCH`,
``store.claims.take_sweep_items``) until none is left, and mark them done in the transaction
that stores their runs. An item holds a lease: one whose worker died is taken again when it
runs out. The claimant waits for the items others hold, so its claim finishes when the sweep
does.

Rate limits: each worker checks one integration at a time, and every request of every worker
pays the shared client-side limiters of ``providers/http.py`` (per tenant, per app, and the
windows HubSpot and Stripe count in), so the pool's size (``schedules.sweep.workers``, 16 by
default) bounds the concurrency, and the limiters the pace per system: a larger pool reaches a
system's limits sooner but cannot go over them.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from checks.base import Check
from checks.runner import DEFAULT_TIME_LIMIT, RunResult
from scheduling.base import JobContext
from scheduling.retry import in_transaction, retried
from service import metrics
from service.errors import RunNotStored
from service.lookup import UnknownIntegration
from service.runs import SCHEDULE, RunState
from store import claims
from store.claims import SweepTake

logger = logging.getLogger(__name__)

# An item's lease: longer than one run can take (each check stops at its time limit, and a
# slow system answers within its 30 s timeout), so a live worker never loses its item.
ITEM_LEASE_S = 3 * DEFAULT_TIME_LIMIT
# Items a worker takes at once: their state is read in one transaction and their runs stored
# (and the items marked done) in one more, instead of three transactions per integration,
# which were most of a sweep's CPU and, on SQLite, a queue at its one write lock (1,000
# integrations, 16 workers: batches of 8 swept in 6.4-7.4 s, of 15 in 6.1-6.4 s). A batch's
# lease is renewed when its runs are slow, so a live worker keeps the rest of its batch.
BATCH = 16


def batch_size(integrations: int, workers: int) -> int:
    """:data:`BATCH`, or less for a small fleet: at most a quarter of a worker's share, so
    every worker (and every replica's) gets some of a sweep of a few dozen integrations."""
    return max(1, min(BATCH, integrations // (4 * workers)))


WAIT_POLL_S = 0.5


def items_key(ctx: JobContext) -> str:
    """The sweep's name in ``sweep_items``: the group (scope) and the period."""
    return f"{ctx.scope}/{ctx.period.key}"


def enqueue(session: Session, ctx: JobContext) -> None:
    """In the claim's transaction: this sweep's items in, the earlier sweeps' done items out."""
    claims.delete_done_sweep_items(session, prefix=f"{ctx.scope}/", keep=items_key(ctx))
    claims.enqueue_sweep(session, items_key(ctx), [i.name for i in ctx.integrations])


def done(ctx: JobContext) -> bool:
    """Every item of the sweep is done (whoever did it)."""
    return _pending(ctx, items_key(ctx)) == 0


def _pending(ctx: JobContext, key: str) -> int:
    return in_transaction(
        ctx.services.sessions,
        lambda session: claims.sweep_pending(session, key),
        what=f"counting the items left of sweep {key}",
        stopping=ctx.stopping,
    )


def run(ctx: JobContext) -> int:
    """The claimant's part: work, then wait for items other replicas hold."""
    return _work(ctx, wait_for_others=True)


def join(ctx: JobContext) -> int:
    """Another replica's part in a sweep it did not claim: help while items are left."""
    return _work(ctx, wait_for_others=False)


def _work(ctx: JobContext, *, wait_for_others: bool) -> int:
    key = items_key(ctx)
    workers = ctx.services.config.schedules.sweep.workers  # integrations checked at once here
    if _pending(ctx, key) == 0:
        return 0
    started = time.monotonic()
    cheap = [check for check in ctx.services.checks.checks if check.cheap]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
        size = batch_size(len(ctx.integrations), workers)
        counts = list(pool.map(lambda _: _worker(ctx, key, cheap, size, wait_for_others), range(workers)))
    done = sum(counts)
    if done:
        elapsed = time.monotonic() - started
        metrics.SWEEP_DURATION.observe(elapsed)
        metrics.SWEEP_LAST_END.set(time.time())
        logger.info("sweep %s: %d integration(s) checked here in %.1f s", key, done, elapsed)
    return done


def _worker(ctx: JobContext, key: str, cheap: list[Check], size: int, wait_for_others: bool) -> int:
    done = 0

    def take(session: Session) -> list[SweepTake]:
        return claims.take_sweep_items(session, key, owner=ctx.owner, now=ctx.clock(), lease=ITEM_LEASE_S, limit=size)

    while not ctx.stopping.is_set():
        # The bookkeeping survives a database restart (scheduling/retry.py): a worker that
        # died on a lost connection would leave its items held until their lease ran out.
        batch = in_transaction(ctx.services.sessions, take, what=f"taking items of sweep {key}", stopping=ctx.stopping)
        if batch:
            done += _check_batch(ctx, key, batch, cheap)
            continue
        if not wait_for_others or _pending(ctx, key) == 0:
            break
        ctx.stopping.wait(WAIT_POLL_S)  # others still hold items: one may die and free its own
    return done


def _check_batch(ctx: JobContext, key: str, batch: list[SweepTake], cheap: list[Check]) -> int:
    """Check the integrations of ``batch`` one after another, then store their runs and mark
    their items done in one transaction. Items not reached (this replica is stopping) stay
    held and are released when it stops (``scheduling.runner``). Returns how many were done."""
    service = ctx.services.checks
    checked: list[tuple[RunResult, RunState]] = []
    handled: list[int] = []
    try:
        states = service.load_states([take.integration for take in batch], checks=cheap)
    except Exception:
        # As for a crash in one run below: the items are marked done, the next sweep tries again.
        logger.exception("sweep %s: reading the state of %d integration(s) failed", key, len(batch))
        states = {}
        handled = [take.item_id for take in batch]
    renewed = time.monotonic()
    for position, take in enumerate(batch if states else ()):
        if ctx.stopping.is_set():
            break
        if time.monotonic() - renewed > ITEM_LEASE_S / 2:  # slow runs: keep the rest of the batch ours
            _renew(ctx, key, [t.item_id for t in batch[position:]])
            renewed = time.monotonic()
        state = states[take.integration]
        try:
            checked.append((service.check(take.integration, state, trigger=SCHEDULE, checks=cheap), state))
        except UnknownIntegration:
            logger.info("sweep %s: %s is no longer configured", key, take.integration)
        except Exception:
            # One integration's crash must not stop the sweep of the others; it is marked done
            # (the next sweep tries again) and the log has the traceback.
            logger.exception("sweep %s: checking %s failed", key, take.integration)
        handled.append(take.item_id)
    if not handled:
        return 0

    def finish(session: Session) -> int:
        return claims.finish_sweep_items(session, handled, owner=ctx.owner, now=ctx.clock())

    try:
        # A connection lost while storing (a database restart) rolls the batch back: try again.
        retried(
            lambda: service.store(checked, also=finish),
            what=f"storing {len(checked)} run(s) of sweep {key}",
            stopping=ctx.stopping,
        )
        return len(handled)
    except RunNotStored as e:
        logger.warning("sweep %s: %d run(s) were not stored: %s", key, len(checked), type(e.error).__name__)
    except Exception:
        logger.exception("sweep %s: storing %d run(s) failed", key, len(checked))
    in_transaction(
        ctx.services.sessions, finish, what=f"finishing {len(handled)} item(s) of sweep {key}", stopping=ctx.stopping
    )
    return len(handled)


def _renew(ctx: JobContext, key: str, item_ids: list[int]) -> None:
    in_transaction(
        ctx.services.sessions,
        lambda session: claims.renew_sweep_items(
            session, item_ids, owner=ctx.owner, now=ctx.clock(), lease=ITEM_LEASE_S
        ),
        what=f"renewing items of sweep {key}",
        stopping=ctx.stopping,
    )
