"""Deleting a customer, in two parts so that no transaction grows with their history.

1. `erase_customer`, in the deletion request's own transaction: the answer (what is erased,
   kept and held, and why), the identity left as a tombstone, open requests closed, unsent
   mail dropped, orders on their way marked to lose their ship-to on arrival. From its commit
   on the customer is unreadable: their addresses, messages, complaints and consents are read
   only through customers not erased.
2. `finish`, after the answer: arrived orders pseudonymized, then the address book, messages,
   complaints and consent history deleted, in bounded set-based batches, each its own short
   transaction, pausing between them so other requests are served. The request's outcome
   shows the progress (`erasure`: rows done, then `finished`).

Both parts are idempotent, and data under a legal hold stays (a hold placed on the whole
customer meanwhile stops the batches until it is lifted). A deletion interrupted between
batches (the process stopped, the database failed) is finished by `finish_erasures`, which
the retention loop runs at start-up and then every interval.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.addresses import public as addresses
from app.complaints import public as complaints
from app.consents import public as consents
from app.core.db import utcnow
from app.identity import public as identity
from app.messages import public as messages
from app.orders import public as orders
from app.outbox import service as outbox
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState, RequestType
from app.retention import public as retention

logger = logging.getLogger(__name__)

ORDER_LAW = ("Tax and accounting law requires order records to be kept; they are kept "
             "pseudonymized: no name, contact or street.")
BATCH = 500
"""Rows changed per batch, each batch one transaction."""
PACE = 1.0
"""Pause after each batch, as a multiple of the time the batch took: the erasure takes at most
about half of the time of the database it shares with everyone else's reads."""
IN_PROGRESS, FINISHED = "in_progress", "finished"

Step = Callable[[AsyncSession, str, datetime, list[str], int], Awaitable[int]]
STEPS: tuple[Step, ...] = (
    lambda s, customer, now, held, n: orders.pseudonymize(s, customer, now, held=held, limit=n),
    lambda s, customer, now, held, n: addresses.erase(s, customer, limit=n),
    lambda s, customer, now, held, n: messages.erase(s, customer, limit=n),
    lambda s, customer, now, held, n: complaints.erase(s, customer, limit=n),
    lambda s, customer, now, held, n: consents.erase(s, customer, limit=n),
)
"""What `finish` erases, in this order of tables (orders let go of the address book first)."""


def _kept_until(periods: retention.Periods, category: retention.Category, now: datetime
                ) -> str:
    days = periods[category]
    return (f"{retention.kept_for(retention.RULES[category], days)} "
            f"(the latest by {(now + timedelta(days=days)).date()})")


def _held_whole(holds: list[dict[str, Any]]) -> bool:
    return any(hold["order_number"] is None for hold in holds)


async def erase_customer(session: AsyncSession, customer_id: str, *,
                         periods: retention.Periods) -> dict[str, Any]:
    """Give the answer and erase the identity in the caller's transaction; `finish` erases
    the rest after it (the answer's `erasure` says how far it got).

    Idempotent: running it again on an erased customer changes nothing more. A legal hold on
    the customer keeps all of their data; a hold on an order keeps that order whole.
    """
    now = utcnow()
    await identity.lock(session, customer_id)  # first, so parallel deletions queue here
    holds = await retention.holds_of(session, customer_id, now)
    if _held_whole(holds):
        return {"erased": [], "kept": [], "held": holds}
    held = [hold["order_number"] for hold in holds]
    in_transit = await orders.erase_on_arrival(session, customer_id, held=held)
    mine = PrivacyRequest.customer_id == customer_id
    await session.execute(update(PrivacyRequest).where(mine).values(
        changes_enc=None, code_hash=None, rejection_reason_enc=None))
    await session.execute(update(PrivacyRequest).where(
        mine, PrivacyRequest.state.in_(OPEN_STATES)).values(
        state=RequestState.REJECTED, rejected_at=now,
        rejection_reason="The customer's data was deleted."))
    await outbox.forget_unsent(session, customer_id)
    await identity.erase(session, customer_id, now)
    kept: list[dict[str, Any]] = [
        {"category": "orders",
         "what": ["order number", "items", "amount", "currency", "payment method",
                  "payment status", "dates", "country, state and city"],
         "why": ORDER_LAW,
         "until": _kept_until(periods, retention.Category.PSEUDONYMIZED_ORDERS, now)}]
    if in_transit:
        kept.append({"category": "shipping addresses of orders on their way",
                     "orders": in_transit,
                     "why": "The parcel is still with the carrier; the address is erased "
                            "the moment it is delivered or cancelled.",
                     "until": "delivery or cancellation"})
    kept.append({"category": "this deletion request", "what": ["request id", "type", "dates"],
                 "why": retention.RULES[retention.Category.CLOSED_REQUESTS].why,
                 "until": _kept_until(periods, retention.Category.CLOSED_REQUESTS, now)})
    answer: dict[str, Any] = {"erased": ["identity", "addresses", "messages", "consents",
                                         "complaints", "contact details on orders"],
                              "kept": kept, "erasure": {"state": IN_PROGRESS, "rows": 0}}
    if holds:
        answer["held"] = holds
    return answer


async def _pending(session: AsyncSession, request_id: str) -> PrivacyRequest | None:
    """The deletion request, locked, if its erasure is still in progress: two runs of
    `finish` on one request take their batches in turn."""
    request = await session.scalar(select(PrivacyRequest).where(
        PrivacyRequest.id == request_id).with_for_update())
    erasure = (request.outcome or {}).get("erasure") if request else None
    return request if erasure and erasure["state"] == IN_PROGRESS else None


def _progressed(request: PrivacyRequest, rows: int, *, finished_at: datetime | None = None
                ) -> None:
    outcome = request.outcome or {}
    done = outcome["erasure"]["rows"] + rows
    request.outcome = {**outcome, "erasure": (
        {"state": IN_PROGRESS, "rows": done} if finished_at is None else
        {"state": FINISHED, "rows": done, "finished_at": finished_at.isoformat()})}


async def _batch(sessions: async_sessionmaker[AsyncSession], request_id: str, step: Step,
                 size: int) -> int | None:
    """One batch of `step` in its own transaction: rows done, or None if there is nothing
    to do (finished already, or the customer is held whole)."""
    async with sessions() as session, session.begin():
        request = await _pending(session, request_id)
        if request is None:
            return None
        now = utcnow()
        holds = await retention.holds_of(session, request.customer_id, now)
        if _held_whole(holds):
            return None
        done = await step(session, request.customer_id, now,
                          [hold["order_number"] for hold in holds], size)
        if done:
            _progressed(request, done)
        return done


async def finish(sessions: async_sessionmaker[AsyncSession], request_id: str) -> bool:
    """Erase what is left of a deletion request's customer, batch after batch; return
    whether the erasure is finished.

    A failure is logged (request id and the error's type, never a value) and leaves the
    request in progress for the next `finish_erasures`, which starts where this one stopped.
    """
    try:
        for step in STEPS:
            done = BATCH
            while done == BATCH:
                started = time.monotonic()
                found = await _batch(sessions, request_id, step, BATCH)
                if found is None:
                    return False
                done = found
                await asyncio.sleep((time.monotonic() - started) * PACE)
        async with sessions() as session, session.begin():
            request = await _pending(session, request_id)
            if request is not None:
                _progressed(request, 0, finished_at=utcnow())
        return True
    except Exception as exc:  # leave it to finish_erasures; the answer was given already
        logger.warning("erasure of deletion request %s stopped (%s); the retention loop "
                       "finishes it", request_id, type(exc).__name__)
        return False


async def finish_erasures(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Finish every deletion whose erasure is still in progress; return how many finished."""
    async with sessions() as session:
        pending = (await session.scalars(select(PrivacyRequest.id).where(
            PrivacyRequest.type == RequestType.DELETION,
            PrivacyRequest.state == RequestState.COMPLETED,
            PrivacyRequest.outcome[("erasure", "state")].as_string() == IN_PROGRESS))).all()
    finished = 0
    for request_id in pending:
        finished += await finish(sessions, request_id)
    return finished
