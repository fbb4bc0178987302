"""A customer's own access log."""

from fastapi import APIRouter

from app.access.deps import ReaderDep
from app.audit import service
from app.audit.schemas import AccessLogEntry
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Cursor, Limit, Page
from app.identity.public import CustomerId

router = APIRouter(prefix="/v1/customers/{customer_id}/access-log", tags=["audit"],
                   responses=PROBLEM_RESPONSES)


@router.get("", response_model=Page[AccessLogEntry], response_model_exclude_unset=True,
            summary="Who read my data, when, and why")
async def read_access_log(customer_id: CustomerId, reader: ReaderDep, cursor: Cursor = None,
                          limit: Limit = 50):
    """The customer's own access log, newest first (`X-Purpose: self`)."""
    return await service.access_log(reader, customer_id, cursor=cursor, limit=limit)
