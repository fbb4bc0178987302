"""Order and item rows; the ship-to copy of the address is encrypted like the address book."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, id_column, utcnow


class PaymentMethod(StrEnum):
    """How the customer paid; the card or account itself is never collected."""

    AMEX = "amex"
    MASTERCARD = "mastercard"
    VISA = "visa"
    PAYPAL = "paypal"
    KLARNA = "klarna"


class PaymentStatus(StrEnum):
    """Payment status, as the payment platform reports it."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class FulfilmentStatus(StrEnum):
    """Where the order is on its way to the customer."""

    PLACED = "placed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Order(Base):
    """A customer's order, with a copy of the address it ships to."""

    __tablename__ = "shop_order"

    id: Mapped[str] = id_column()
    order_number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    shipping_address_id: Mapped[str | None] = mapped_column(
        ForeignKey("shipping_address.id", ondelete="SET NULL"))
    ship_recipient_name_enc: Mapped[str | None] = mapped_column(Text)
    ship_phone_enc: Mapped[str | None] = mapped_column(Text)
    ship_country: Mapped[str] = mapped_column(String(2))
    ship_state: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(200))
    ship_street_enc: Mapped[str | None] = mapped_column(Text)
    ship_house_number_enc: Mapped[str | None] = mapped_column(Text)
    ship_postal_code_enc: Mapped[str | None] = mapped_column(Text)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(20))
    fulfilment_status: Mapped[str] = mapped_column(String(20), default=FulfilmentStatus.PLACED)
    logistics_partner_id: Mapped[str | None] = mapped_column(String(100), index=True)
    payment_partner_id: Mapped[str | None] = mapped_column(String(100), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deliver_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deliver_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pseudonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erase_ship_to_on_arrival: Mapped[bool] = mapped_column(Boolean, default=False,
                                                           server_default=false())
    ship_to_destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_shop_order_status_ship_by", "fulfilment_status", "ship_by"),)

    items: Mapped[list["OrderItem"]] = relationship(
        lazy="raise", order_by="OrderItem.position", cascade="all, delete-orphan")


class OrderItem(Base):
    """One line of an order."""

    __tablename__ = "order_item"

    id: Mapped[str] = id_column()
    order_id: Mapped[str] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
