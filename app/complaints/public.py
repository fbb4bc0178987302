"""What other domains may use of complaints: the records, and erasure."""

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.sources import Records
from app.complaints.models import Complaint
from app.complaints.readers import COMPLAINTS
from app.complaints.schemas import ComplaintView

__all__ = ["ComplaintView", "COMPLAINTS", "erase", "records_of"]


def records_of(customer_id: str) -> Records:
    """The customer's complaints, oldest first (the caller was scoped before)."""
    return Records(select(Complaint).where(Complaint.customer_id == customer_id),
                   (Complaint.received_at, Complaint.id))


async def erase(session: AsyncSession, customer_id: str, *, limit: int) -> int:
    """Remove up to `limit` of the customer's complaints; return how many went."""
    chosen = select(Complaint.id).where(Complaint.customer_id == customer_id).limit(limit)
    done = await session.execute(delete(Complaint).where(Complaint.id.in_(chosen))
                                 .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], done).rowcount
