"""Request queries, scoped to the caller."""

from datetime import datetime

from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.security import Actor
from app.policy.roles import PARTNER_ROLES, Role
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState, is_open


def readable(actor: Actor) -> Select[PrivacyRequest]:
    """Requests this actor may see: a customer only its own, partners none."""
    stmt = select(PrivacyRequest)
    if actor.role is Role.CUSTOMER:
        return stmt.where(PrivacyRequest.customer_id == actor.sub)
    if actor.role in PARTNER_ROLES:
        return stmt.where(false())
    return stmt


def one(actor: Actor, request_id: str) -> Select[PrivacyRequest]:
    """One request, if this actor may see it."""
    return readable(actor).where(PrivacyRequest.id == request_id)


async def get_readable(session: AsyncSession, actor: Actor, request_id: str, *,
                       for_update: bool = False) -> PrivacyRequest | None:
    """One request, if this actor may see it; `for_update` locks it until the transaction ends."""
    stmt = one(actor, request_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    request: PrivacyRequest | None = await session.scalar(stmt)
    return request


async def customer_of(session: AsyncSession, actor: Actor, request_id: str) -> str | None:
    """Whose request this is, if this actor may see it (takes no lock)."""
    customer_id: str | None = await session.scalar(
        one(actor, request_id).with_only_columns(PrivacyRequest.customer_id))
    return customer_id


async def open_request(session: AsyncSession, customer_id: str, type_: str
                       ) -> PrivacyRequest | None:
    """The customer's open request of this type, if any."""
    request: PrivacyRequest | None = await session.scalar(select(PrivacyRequest).where(
        PrivacyRequest.customer_id == customer_id, PrivacyRequest.type == type_,
        PrivacyRequest.state.in_(OPEN_STATES)).limit(1))
    return request


def listed(actor: Actor, *, state: RequestState | None, type_: str | None,
           overdue_at: datetime | None) -> Select[PrivacyRequest]:
    """Requests by state and type; `overdue_at` keeps open ones due before that time.

    Each filter has an index leading with it (state, type, both; the overdue ones: the open
    requests' due dates) and going on in the list's order (`order_of`), so a page is a range
    of that index starting at the cursor. State and type together need their own: read from
    the state's range and filtered by type, a rare or empty combination reads the whole range
    (50,000 rows, 157 ms at a million requests)."""
    stmt = readable(actor)
    if state is not None:
        stmt = stmt.where(PrivacyRequest.state == state)
    if type_ is not None:
        stmt = stmt.where(PrivacyRequest.type == type_)
    if overdue_at is not None:
        if state is not None and state not in OPEN_STATES:
            return stmt.where(false())  # a closed request is never overdue
        stmt = stmt.where(is_open(), PrivacyRequest.due_at < overdue_at)
    return stmt


def order_of(*, overdue: bool) -> tuple[InstrumentedAttribute[datetime | None],
                                        InstrumentedAttribute[str]]:
    """A list's order: the overdue ones most overdue first, the others oldest first."""
    return ((PrivacyRequest.due_at if overdue else PrivacyRequest.received_at),
            PrivacyRequest.id)


async def save(session: AsyncSession, request: PrivacyRequest) -> PrivacyRequest:
    """Store a new or changed request."""
    session.add(request)
    await session.flush()
    return request


async def insert_open(session: AsyncSession, request: PrivacyRequest) -> bool:
    """Store a new open request; False if the database already holds an open one of its
    customer and type (the partial unique index decides, not a check before)."""
    try:
        async with session.begin_nested():
            session.add(request)
    except IntegrityError:
        return False
    return True
