"""Communication record routes under a customer."""

from fastapi import Request, status

from app.access.deps import ReaderDep, WriterDep, allow
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.core.schemas import Receipt
from app.identity.public import CustomerId
from app.messages import service
from app.messages.schemas import MessageCreate, MessageView
from app.policy.roles import Role

router = api_router(prefix="/v1/customers/{customer_id}/messages", tags=["messages"],
                   responses=PROBLEM_RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Receipt,
             summary="Record a customer-service message",
             dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT)])
async def record_message(customer_id: CustomerId, payload: MessageCreate, writer: WriterDep,
                         request: Request, idempotency_key: IdempotencyKey = None):
    """Keep a message between the customer and customer service; card numbers are masked."""
    return await once(writer.session, writer.actor, idempotency_key,
                      path=request.url.path, payload=payload, status_code=201,
                      create=lambda: service.record(writer, customer_id, payload))


@router.get("", response_model=Page[MessageView], response_model_exclude_unset=True,
            summary="List a customer's messages")
async def list_messages(customer_id: CustomerId, reader: ReaderDep, cursor: Cursor = None,
                        limit: Limit = 50):
    """The customer's messages, oldest first, as the `X-Purpose` allows."""
    return await service.list_for(reader, customer_id, cursor=cursor, limit=limit)
