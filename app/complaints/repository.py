"""Complaint queries, scoped to the customers the caller may see."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.complaints.errors import ComplaintNotFound
from app.complaints.models import Complaint
from app.core.security import Actor
from app.identity import public as identity
from app.policy.roles import Role


def readable(actor: Actor) -> Select[Complaint]:
    """Complaints this actor may see: a customer only its own."""
    if actor.role is Role.CUSTOMER:
        return select(Complaint).where(Complaint.customer_id == actor.sub)
    return select(Complaint).where(Complaint.customer_id.in_(identity.visible_ids(actor)))


def one(actor: Actor, complaint_id: str) -> Select[Complaint]:
    """One complaint, if this actor may see it."""
    return readable(actor).where(Complaint.id == complaint_id)


async def customer_of(session: AsyncSession, actor: Actor, complaint_id: str) -> str:
    """Whose complaint this is, if this actor may see it; `ComplaintNotFound` otherwise."""
    customer_id: str | None = await session.scalar(
        one(actor, complaint_id).with_only_columns(Complaint.customer_id))
    if customer_id is None:
        raise ComplaintNotFound()
    return customer_id


def listed(actor: Actor, *, answered: bool | None, overdue_at: datetime | None
           ) -> Select[Complaint]:
    """Complaints by whether they are answered; `overdue_at` keeps unanswered ones due before.

    The unanswered and the overdue ones have partial indexes in their list's order
    (`order_of`); the answered ones, nearly all, are read from the index of all complaints."""
    stmt = readable(actor)
    if answered is not None:
        if answered and overdue_at is not None:
            return stmt.where(false())  # an answered complaint is never overdue
        stmt = stmt.where(Complaint.answered_at.is_not(None) if answered
                          else Complaint.answered_at.is_(None))
    if overdue_at is not None:
        stmt = stmt.where(Complaint.answered_at.is_(None), Complaint.due_at < overdue_at)
    return stmt


def order_of(*, overdue: bool) -> tuple[InstrumentedAttribute[datetime],
                                        InstrumentedAttribute[str]]:
    """A list's order: the overdue ones most overdue first, the others oldest first."""
    return (Complaint.due_at if overdue else Complaint.received_at), Complaint.id


async def answer(session: AsyncSession, complaint_id: str, *, answer_enc: str, at: datetime,
                 by: str) -> bool:
    """Record the answer unless one was recorded already (one winner); False if it was."""
    # DML gives a CursorResult; AsyncSession.execute is typed as any Result
    result = cast(CursorResult[Any], await session.execute(
        update(Complaint).where(Complaint.id == complaint_id, Complaint.answered_at.is_(None))
        .values(answer_enc=answer_enc, answered_at=at, answered_by=by)))
    return result.rowcount == 1


async def save(session: AsyncSession, complaint: Complaint) -> Complaint:
    """Store a new complaint."""
    session.add(complaint)
    await session.flush()
    return complaint
