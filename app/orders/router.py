"""Order routes: place, read, list, fulfilment and payment events."""

from typing import Annotated

from fastapi import Path, Query, Request, status

from app.access.deps import ReaderDep, WriterDep, allow
from app.access.projection import GatedJSON
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES, problem_doc
from app.core.idempotency import once
from app.core.pagination import Cursor, Limit, Page
from app.core.routing import api_router
from app.identity.public import CustomerId
from app.orders import service
from app.orders.models import FulfilmentStatus
from app.orders.schemas import (
    FulfilmentUpdate,
    OrderCreate,
    OrderReceipt,
    OrderView,
    PaymentUpdate,
)
from app.policy.roles import Role

router = api_router(prefix="/v1", tags=["orders"], responses=PROBLEM_RESPONSES)

OrderNumberPath = Annotated[str, Path(max_length=40, description="The shop's order number.")]
FulfilmentFilter = Annotated[FulfilmentStatus | None,
                             Query(description="Only orders in this state.")]


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderReceipt,
             summary="Place an order", dependencies=[allow(Role.STOREFRONT)])
async def place_order(payload: OrderCreate, writer: WriterDep, request: Request,
                      idempotency_key: IdempotencyKey = None):
    """Store an order with a copy of its shipping address. Storefront only."""
    calendar = request.app.state.request_rules.calendar
    return await once(writer.session, writer.actor, idempotency_key,
                      path=request.url.path, payload=payload, status_code=201,
                      create=lambda: service.place(writer, payload, calendar=calendar))


@router.get("/orders", response_model=Page[OrderView], response_model_exclude_unset=True,
            summary="List orders you may see")
async def list_orders(reader: ReaderDep, fulfilment_status: FulfilmentFilter = None,
                      cursor: Cursor = None, limit: Limit = 50):
    """Orders in the caller's scope: a carrier its undelivered shipments, a payment partner
    its orders, staff all orders; each shaped by the `X-Purpose`."""
    return await service.list_orders(reader, customer_id=None,
                                     fulfilment_status=fulfilment_status, cursor=cursor,
                                     limit=limit)


@router.get("/orders/late", response_model=Page[OrderView], response_model_exclude_unset=True,
            summary="List late shipments",
            dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT)])
async def list_late_orders(reader: ReaderDep, cursor: Cursor = None, limit: Limit = 50):
    """Orders still unshipped after their promised ship-by date, most overdue first; each
    shaped by the `X-Purpose`. Staff only."""
    return await service.list_late(reader, cursor=cursor, limit=limit)


@router.get("/orders/{order_number}", response_model=OrderView,
            response_model_exclude_unset=True, summary="Read an order",
            responses={410: {"description": "Delivered: no longer shared with the carrier"}})
async def read_order(order_number: OrderNumberPath, reader: ReaderDep):
    """One order, as the `X-Purpose` allows; once delivered its address is sealed."""
    return GatedJSON(await service.read(reader, order_number))


@router.get("/customers/{customer_id}/orders", response_model=Page[OrderView],
            response_model_exclude_unset=True, summary="List a customer's orders")
async def list_customer_orders(customer_id: CustomerId, reader: ReaderDep,
                               fulfilment_status: FulfilmentFilter = None,
                               cursor: Cursor = None, limit: Limit = 50):
    """A customer's orders, oldest first, as the `X-Purpose` allows."""
    return await service.list_orders(reader, customer_id=customer_id,
                                     fulfilment_status=fulfilment_status, cursor=cursor,
                                     limit=limit)


@router.post("/orders/{order_number}/fulfilment", response_model=OrderReceipt,
             summary="Record shipping, delivery or cancellation",
             dependencies=[allow(Role.STOREFRONT, Role.LOGISTICS_PARTNER)])
async def record_fulfilment(order_number: OrderNumberPath, payload: FulfilmentUpdate,
                            writer: WriterDep, request: Request):
    """placed -> shipped -> delivered, or cancelled before delivery. Carriers may record
    shipping and delivery of their own shipments. Shipping sets the delivery window; the
    customer is emailed on shipping and delivery unless they withdrew `notifications`."""
    return await service.record_fulfilment(writer, order_number, payload,
                                           calendar=request.app.state.request_rules.calendar)


@router.put("/orders/{order_number}/payment-status", response_model=OrderReceipt,
            summary="Record the payment status",
            dependencies=[allow(Role.STOREFRONT, Role.PAYMENT_PARTNER)])
async def record_payment(order_number: OrderNumberPath, payload: PaymentUpdate, writer: WriterDep):
    """The payment platform's verdict on one of its orders."""
    return await service.record_payment(writer, order_number, payload)


@router.post("/orders/{order_number}/destruction", response_model=OrderReceipt,
             summary="Confirm the shipment's data was destroyed",
             dependencies=[allow(Role.LOGISTICS_PARTNER)],
             responses={409: problem_doc("Not delivered or cancelled yet "
                                         "(`invalid_status_transition`), or confirmed before "
                                         "(`destruction_already_confirmed`)")})
async def confirm_destruction(order_number: OrderNumberPath, writer: WriterDep):
    """After delivery the carrier destroys its copy of the recipient's data, as the policy
    requires, and confirms it here; the confirmation is recorded in the audit trail."""
    return await service.confirm_destruction(writer, order_number)
