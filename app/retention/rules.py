"""Which rows of each category have expired at a moment, as SQL conditions.

The job is a cross-domain maintenance task like the migrations, so it reads the tables from
`app.models` (the one module that names every table) instead of adding a retention hook to
every domain; each condition leaves held customers and orders alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, or_, select

from app.models import (
    Complaint,
    ConsentEvent,
    Customer,
    IdempotencyRecord,
    Message,
    Order,
    OutboxMessage,
    PrivacyRequest,
    ShippingAddress,
)
from app.retention.public import held_customers, held_orders
from app.retention.schedule import Category, cutoff

SHIP_TO = {f"ship_{name}_enc": None for name in
           ("recipient_name", "phone", "street", "house_number", "postal_code")}
CLOSED = ("completed", "rejected")


@dataclass(frozen=True)
class Expired:
    """The expired rows of one category: their table, key, condition and end."""

    model: Any
    key: SQLColumnExpression[Any] | tuple[SQLColumnExpression[Any], ...]
    """The primary key: one column, or a tuple of them."""
    where: ColumnElement[bool]
    values: dict[str, Any] | None = None
    """Columns to blank (anonymize); `None` deletes the rows."""


def _free(customer_id: SQLColumnExpression[Any], now: datetime) -> ColumnElement[bool]:
    return customer_id.not_in(held_customers(now))


def _orders(now: datetime, before: datetime) -> ColumnElement[bool]:
    return and_(Order.placed_at < before, _free(Order.customer_id, now),
                Order.order_number.not_in(held_orders(now)))


def _pseudonymized_orders(now: datetime, before: datetime) -> Expired:
    erased = select(Customer.id).where(Customer.erased_at.is_not(None))
    return Expired(Order, Order.id, and_(_orders(now, before), Order.customer_id.in_(erased)))


def _anonymized_orders(now: datetime, before: datetime) -> Expired:
    arrived = or_(Order.delivered_at.is_not(None), Order.cancelled_at.is_not(None))
    return Expired(Order, Order.id, and_(_orders(now, before), arrived,
                                         Order.pseudonymized_at.is_(None)),
                   values={**SHIP_TO, "pseudonymized_at": now,
                           "erase_ship_to_on_arrival": False})


def _messages(now: datetime, before: datetime) -> Expired:
    recent = Message.__table__.alias("recent")
    active_since = exists().where(recent.c.customer_id == Message.customer_id,
                                  recent.c.occurred_at >= before)
    return Expired(Message, Message.id, and_(
        Message.occurred_at < before, ~active_since, _free(Message.customer_id, now),
        or_(Message.order_number.is_(None), Message.order_number.not_in(held_orders(now)))))


def _addresses(now: datetime, before: datetime) -> Expired:
    in_use = exists().where(
        Order.shipping_address_id == ShippingAddress.id,
        or_(Order.placed_at >= before,
            and_(Order.delivered_at.is_(None), Order.cancelled_at.is_(None))))
    return Expired(ShippingAddress, ShippingAddress.id, and_(
        ShippingAddress.updated_at < before, ~in_use, _free(ShippingAddress.customer_id, now)))


def _codes(now: datetime, before: datetime) -> Expired:
    return Expired(PrivacyRequest, PrivacyRequest.id, and_(
        PrivacyRequest.code_hash.is_not(None), PrivacyRequest.code_expires_at < before,
        _free(PrivacyRequest.customer_id, now)),
        values={"code_hash": None, "code_expires_at": None})


def _outbox(now: datetime, before: datetime) -> Expired:
    ended = func.coalesce(OutboxMessage.sent_at, OutboxMessage.failed_at)
    return Expired(OutboxMessage, OutboxMessage.id, and_(
        ended < before, or_(OutboxMessage.customer_id.is_(None),
                            _free(OutboxMessage.customer_id, now))))


def _requests(now: datetime, before: datetime) -> Expired:
    closed_at = func.coalesce(PrivacyRequest.completed_at, PrivacyRequest.rejected_at)
    return Expired(PrivacyRequest, PrivacyRequest.id, and_(
        PrivacyRequest.state.in_(CLOSED), closed_at < before,
        _free(PrivacyRequest.customer_id, now)))


def _complaints(now: datetime, before: datetime) -> Expired:
    return Expired(Complaint, Complaint.id, and_(
        Complaint.answered_at < before, _free(Complaint.customer_id, now)))


def _idempotency(now: datetime, before: datetime) -> Expired:
    return Expired(IdempotencyRecord,
                   (IdempotencyRecord.actor_id, IdempotencyRecord.key),
                   IdempotencyRecord.created_at < before)


def _consents(now: datetime, before: datetime) -> Expired:
    deleted = select(Customer.id).where(Customer.erased_at < before)
    return Expired(ConsentEvent, ConsentEvent.id, and_(
        ConsentEvent.customer_id.in_(deleted), _free(ConsentEvent.customer_id, now)))


EXPIRED: dict[Category, Callable[[datetime, datetime], Expired]] = {
    Category.PSEUDONYMIZED_ORDERS: _pseudonymized_orders,
    Category.ORDERS: _anonymized_orders,
    Category.MESSAGES: _messages,
    Category.ADDRESSES: _addresses,
    Category.VERIFICATION_CODES: _codes,
    Category.OUTBOX: _outbox,
    Category.CLOSED_REQUESTS: _requests,
    Category.COMPLAINTS: _complaints,
    Category.IDEMPOTENCY: _idempotency,
    Category.CONSENT_HISTORY: _consents,
}


def expired(category: Category, now: datetime, days: int) -> Expired:
    """The rows of `category` expired at `now` under a period of `days`."""
    return EXPIRED[category](now, cutoff(now, days))
