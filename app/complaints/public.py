"""What other domains may use of complaints: the records, and erasure."""

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints.models import Complaint
from app.complaints.readers import COMPLAINTS
from app.complaints.schemas import ComplaintView

__all__ = ["ComplaintView", "COMPLAINTS", "erase", "records_of"]


def records_of(customer_id: str) -> Select[Complaint]:
    """The customer's complaints, oldest first (the caller was scoped before)."""
    return (select(Complaint).where(Complaint.customer_id == customer_id)
            .order_by(Complaint.received_at, Complaint.id))


async def erase(session: AsyncSession, customer_id: str) -> None:
    """Remove the customer's complaints."""
    await session.execute(delete(Complaint).where(Complaint.customer_id == customer_id))
