"""Placing, listing and lifting legal holds; every change is audited."""

from typing import Any

from app.access import gate
from app.access.callers import Reader
from app.access.projection import Projection
from app.core.db import utcnow
from app.identity import public as identity
from app.orders import public as orders
from app.policy.purposes import Resource
from app.retention import repository
from app.retention.errors import HoldLifted, HoldNotFound, HoldTargetNotFound
from app.retention.models import LegalHold
from app.retention.readers import HOLDS
from app.retention.schemas import HoldCreate

FIELDS = ["customer_id", "order_number", "reason", "reference", "until"]


async def _target(caller: Reader, payload: HoldCreate) -> str:
    if payload.order_number is None:
        assert payload.customer_id is not None  # HoldCreate requires exactly one of the two
        await identity.ensure_visible(caller, payload.customer_id)
        return payload.customer_id
    customer_id = await orders.customer_of(caller.session, payload.order_number)
    if customer_id is None:
        raise HoldTargetNotFound()
    return customer_id


async def place(caller: Reader, payload: HoldCreate) -> Projection:
    """Place a hold on a customer or an order; retention and deletion leave it alone."""
    gate.fields_for(caller, HOLDS)
    customer_id = await _target(caller, payload)
    hold = LegalHold(customer_id=customer_id, order_number=payload.order_number,
                     reason=payload.reason, reference=payload.reference, until=payload.until,
                     placed_at=utcnow(), placed_by=caller.actor.sub)
    await repository.save(caller.session, hold)
    await gate.record_write(caller, Resource.HOLD, "place", subject_id=customer_id,
                            resource_id=hold.id, fields=FIELDS)
    return await gate.read_one(caller, HOLDS, repository.one(hold.id))


async def lift(caller: Reader, hold_id: str) -> Projection:
    """Lift a hold; what it kept then ages out on the next retention run."""
    gate.fields_for(caller, HOLDS)
    hold = await repository.get_for_update(caller.session, hold_id)
    if hold is None:
        raise HoldNotFound()
    if hold.lifted_at is not None:
        raise HoldLifted()
    hold.lifted_at, hold.lifted_by = utcnow(), caller.actor.sub
    await repository.save(caller.session, hold)
    await gate.record_write(caller, Resource.HOLD, "lift", subject_id=hold.customer_id,
                            resource_id=hold.id, fields=["lifted_at", "lifted_by"])
    return await gate.read_one(caller, HOLDS, repository.one(hold.id))


async def read(caller: Reader, hold_id: str) -> Projection:
    """One hold."""
    return await gate.read_one(caller, HOLDS, repository.one(hold_id))


async def list_holds(caller: Reader, *, customer_id: str | None, active: bool,
                     cursor: str | None, limit: int) -> dict[str, Any]:
    """Holds, oldest first; `active` keeps those in force now."""
    stmt = repository.listed(customer_id=customer_id, in_force_at=utcnow() if active else None)
    return await gate.read_page(caller, HOLDS, stmt, order=(LegalHold.placed_at, LegalHold.id),
                                cursor=cursor, limit=limit)
