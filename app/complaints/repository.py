"""Complaint queries."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints.models import Complaint
from app.core.pagination import fetch_page


async def get(session: AsyncSession, complaint_id: str) -> Complaint | None:
    """One complaint."""
    return await session.get(Complaint, complaint_id)


async def list_all(session: AsyncSession, *, answered: bool | None, overdue_at: datetime | None,
                   cursor: str | None, limit: int) -> tuple[list[Complaint], str | None]:
    """A page of complaints, oldest first; `overdue_at` keeps unanswered ones due before it."""
    stmt = select(Complaint)
    if answered is not None:
        stmt = stmt.where(Complaint.answered_at.is_not(None) if answered
                          else Complaint.answered_at.is_(None))
    if overdue_at is not None:
        stmt = stmt.where(Complaint.answered_at.is_(None), Complaint.due_at < overdue_at)
    return await fetch_page(session, stmt, Complaint.received_at, Complaint.id, cursor=cursor,
                            limit=limit)


async def save(session: AsyncSession, complaint: Complaint) -> Complaint:
    """Store a new or changed complaint."""
    session.add(complaint)
    await session.flush()
    return complaint
