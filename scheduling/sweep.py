"""The monitoring sweep: the cheap checks (``Check.cheap``) on every integration, every 15
minutes by default, through the check service like any other run (trigger ``schedule``: a run
is stored only when something changed; listeners hear of every run, so alerts follow).

The integrations of one sweep are rows of ``sweep_items``. The replica that claims the sweep's
period enqueues them in the same transaction; then its workers, and those of every replica
that lost the claim (``join``), take them one at a time (``store.claims.take_sweep_item``)
until none is left. An item holds a lease: one whose worker died is taken again when it runs
out. The claimant waits for the items others hold, so its claim finishes when the sweep does.

Rate limits: each worker runs one integration at a time, and every request of every worker
pays the shared client-side limiters of ``providers/http.py`` (per tenant, per app, and the
windows HubSpot and Stripe count in), so the pool's size (``schedules.sweep.workers``, 8 by
default) bounds the concurrency, and the limiters the pace per system: a larger pool reaches a
system's limits sooner but cannot go over them.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from sqlalchemy.orm import Session

from checks.base import Check
from checks.runner import DEFAULT_TIME_LIMIT
from scheduling.base import JobContext
from scheduling.retry import in_transaction
from service import metrics
from service.errors import RunNotStored
from service.lookup import UnknownIntegration
from service.runs import SCHEDULE
from store import claims
from store.claims import SweepTake

logger = logging.getLogger(__name__)

# An item's lease: longer than one run can take (each check stops at its time limit, and a
# slow system answers within its 30 s timeout), so a live worker never loses its item.
ITEM_LEASE_S = 3 * DEFAULT_TIME_LIMIT
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
        counts = list(pool.map(lambda _: _worker(ctx, key, cheap, wait_for_others), range(workers)))
    done = sum(counts)
    if done:
        elapsed = time.monotonic() - started
        metrics.SWEEP_DURATION.observe(elapsed)
        metrics.SWEEP_LAST_END.set(time.time())
        logger.info("sweep %s: %d integration(s) checked here in %.1f s", key, done, elapsed)
    return done


def _worker(ctx: JobContext, key: str, cheap: list[Check], wait_for_others: bool) -> int:
    sessions = ctx.services.sessions
    done = 0

    def take_one(session: Session) -> SweepTake | None:
        return claims.take_sweep_item(session, key, owner=ctx.owner, now=ctx.clock(), lease=ITEM_LEASE_S)

    # The bookkeeping below survives a database restart (scheduling/retry.py): a worker that
    # died on a lost connection would leave its item held until the lease ran out.
    take: SweepTake | None = None
    while True:
        if take is None:
            if ctx.stopping.is_set():
                return done
            take = in_transaction(sessions, take_one, what=f"taking an item of sweep {key}", stopping=ctx.stopping)
        if take is None:
            if not wait_for_others:
                return done
            if _pending(ctx, key) == 0:
                return done
            ctx.stopping.wait(WAIT_POLL_S)  # others still hold items: one may die and free its own
            continue
        try:
            ctx.services.checks.run(take.integration, trigger=SCHEDULE, checks=cheap)
        except UnknownIntegration:
            logger.info("sweep %s: %s is no longer configured", key, take.integration)
        except RunNotStored as e:
            logger.warning("sweep %s: the run of %s was not stored: %s", key, take.integration, type(e.error).__name__)
        except Exception:
            # One integration's crash must not stop the sweep of the others; it is marked done
            # (the next sweep tries again) and the log has the traceback.
            logger.exception("sweep %s: checking %s failed", key, take.integration)
        done += 1
        take = in_transaction(
            sessions,
            partial(_finish_and_take, item=take.item_id, key=key, ctx=ctx),
            what=f"finishing {take.integration} in sweep {key}",
            stopping=ctx.stopping,
        )


def _finish_and_take(session: Session, *, item: int, key: str, ctx: JobContext) -> SweepTake | None:
    """Finish ``item``; unless this replica is stopping, take the next one in the same transaction."""
    if ctx.stopping.is_set():
        claims.finish_sweep_item(session, item, owner=ctx.owner, now=ctx.clock())
        return None
    return claims.finish_and_take_sweep_item(session, item, key, owner=ctx.owner, now=ctx.clock(), lease=ITEM_LEASE_S)
