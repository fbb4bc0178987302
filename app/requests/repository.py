"""Request queries, scoped to the caller, and the records an access export gathers."""

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.addresses.models import ShippingAddress
from app.audit.models import AuditEntry
from app.complaints.models import Complaint
from app.core.pagination import fetch_page
from app.core.security import Actor
from app.messages.models import Message
from app.orders.models import Order
from app.policy.roles import Role
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState


def readable_requests(actor: Actor) -> Select[tuple[PrivacyRequest]]:
    """Requests this actor may see: a customer only its own."""
    stmt = select(PrivacyRequest)
    if actor.role is Role.CUSTOMER:
        return stmt.where(PrivacyRequest.customer_id == actor.sub)
    return stmt


async def get_readable(session: AsyncSession, actor: Actor, request_id: str, *,
                       for_update: bool = False) -> PrivacyRequest | None:
    """One request, if this actor may see it; `for_update` locks it until the transaction ends."""
    stmt = readable_requests(actor).where(PrivacyRequest.id == request_id)
    return await session.scalar(stmt.with_for_update() if for_update else stmt)


async def open_request(session: AsyncSession, customer_id: str, type_: str
                       ) -> PrivacyRequest | None:
    """The customer's open request of this type, if any."""
    return await session.scalar(select(PrivacyRequest).where(
        PrivacyRequest.customer_id == customer_id, PrivacyRequest.type == type_,
        PrivacyRequest.state.in_(OPEN_STATES)).limit(1))


async def list_readable(session: AsyncSession, actor: Actor, *, state: RequestState | None,
                        type_: str | None, overdue_at: datetime | None, cursor: str | None,
                        limit: int) -> tuple[list[PrivacyRequest], str | None]:
    """A page of requests, oldest first; `overdue_at` keeps open ones due before that time."""
    stmt = readable_requests(actor)
    if state is not None:
        stmt = stmt.where(PrivacyRequest.state == state)
    if type_ is not None:
        stmt = stmt.where(PrivacyRequest.type == type_)
    if overdue_at is not None:
        stmt = stmt.where(PrivacyRequest.state.in_(OPEN_STATES),
                          PrivacyRequest.due_at < overdue_at)
    return await fetch_page(session, stmt, PrivacyRequest.received_at, PrivacyRequest.id,
                            cursor=cursor, limit=limit)


async def save(session: AsyncSession, request: PrivacyRequest) -> PrivacyRequest:
    """Store a new or changed request."""
    session.add(request)
    await session.flush()
    return request


async def customer_records(session: AsyncSession, customer_id: str) -> dict[str, list]:
    """Every address, order, message, complaint and audit entry held about a customer."""
    def of(model, order_by):
        return select(model).where(model.customer_id == customer_id).order_by(order_by)

    orders = of(Order, Order.created_at).options(selectinload(Order.items))
    return {
        "addresses": list((await session.scalars(
            of(ShippingAddress, ShippingAddress.created_at))).all()),
        "orders": list((await session.scalars(orders)).all()),
        "messages": list((await session.scalars(of(Message, Message.occurred_at))).all()),
        "complaints": list((await session.scalars(of(Complaint, Complaint.received_at))).all()),
        "access_log": list((await session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == customer_id)
            .order_by(AuditEntry.occurred_at))).all()),
    }
