"""Order payloads and views."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from app.access.projection import GatedView
from app.core.fields import Currency, Identifier, OrderNumber, PlainText, ShortCode
from app.core.schemas import Receipt
from app.orders.models import FulfilmentStatus, PaymentMethod, PaymentStatus

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), WithJsonSchema(
    {"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$", "examples": ["15.90"],
     "description": "A decimal amount as a string, at most two decimals."})]
PartnerId = Annotated[ShortCode, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")]

_ITEM: dict[str, Any] = {"product_name": "Silicone pot lid mat", "quantity": 2,
                         "unit_price": "7.95"}
_CREATE: dict[str, Any] = {
    "order_number": "HG-2026-000123", "customer_id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d",
    "shipping_address_id": "7d1e0b52-3c4f-4a8e-b2a9-5e6f7a8b9c0d", "items": [_ITEM],
    "total_amount": "15.90", "currency": "EUR", "payment_method": "paypal",
    "payment_status": "pending", "logistics_partner_id": "swiftship",
    "payment_partner_id": "paypal",
}


class OrderItemIn(BaseModel):
    """One line of a new order."""

    model_config = ConfigDict(extra="forbid")

    product_name: PlainText
    quantity: int = Field(gt=0, le=10_000)
    unit_price: Money


class OrderCreate(BaseModel):
    """A new order: only what the policy lists, and never card data."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE]})

    order_number: OrderNumber
    customer_id: Identifier
    shipping_address_id: Identifier = Field(description="Copied onto the order.")
    items: list[OrderItemIn] = Field(min_length=1, max_length=200)
    total_amount: Money
    currency: Currency
    payment_method: PaymentMethod
    payment_status: PaymentStatus = PaymentStatus.PENDING
    logistics_partner_id: PartnerId | None = None
    payment_partner_id: PartnerId | None = None
    placed_at: AwareDatetime | None = Field(None, description="Defaults to now.")


class FulfilmentUpdate(BaseModel):
    """A fulfilment event: shipped, delivered or cancelled."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "shipped", "logistics_partner_id": "swiftship"}, {"status": "delivered"}]})

    status: Literal[FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED,
                    FulfilmentStatus.CANCELLED]
    at: AwareDatetime | None = Field(None, description="When it happened; defaults to now.")
    logistics_partner_id: PartnerId | None = Field(
        None, description="The carrier taking the parcel (storefront only, when shipping).")


class PaymentUpdate(BaseModel):
    """A payment status reported by the payment platform."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"status": "paid"}]})

    status: PaymentStatus


class OrderReceipt(Receipt):
    """What an order write did."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "c2a4e6f8-0b1d-4f3a-8c5e-7a9b1c3d5e7f", "order_number": "HG-2026-000123",
         "fields": ["fulfilment_status", "shipped_at"], "at": "2026-11-30T02:00:00Z"}]})

    order_number: str


class ShipTo(BaseModel):
    """The address an order ships to."""

    recipient_name: str
    phone: str | None = None
    country: str
    state: str | None = None
    city: str
    street: str
    house_number: str
    postal_code: str | None = None


class Region(BaseModel):
    """Where an order ships to, coarsely (fraud purpose)."""

    country: str
    state: str | None = None
    city: str


class OrderItemView(BaseModel):
    """One line of an order."""

    product_name: str
    quantity: int
    unit_price: Decimal


class OrderView(GatedView):
    """An order as the declared purpose allows: absent fields were not allowed."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"order_number": "HG-2026-000123", "total_amount": "15.90", "currency": "EUR",
         "payment_status": "paid"},
        {"order_number": "HG-2026-000123", "items": [_ITEM], "fulfilment_status": "shipped",
         "shipping_address": {"recipient_name": "Mei Lin", "phone": "+8613800138000",
                              "country": "CN", "state": "Guangdong", "city": "Shenzhen",
                              "street": "Keyuan Road", "house_number": "18",
                              "postal_code": "518057"},
         "placed_at": "2026-11-28T08:00:00Z", "shipped_at": "2026-11-30T02:00:00Z",
         "delivered_at": None, "cancelled_at": None, "ship_by": "2026-12-03T01:00:00Z",
         "deliver_from": "2026-12-16T02:00:00Z", "deliver_by": "2026-12-21T02:00:00Z"},
    ]})

    id: str | None = None
    order_number: str | None = None
    customer_id: str | None = None
    customer_key: str | None = None
    items: list[OrderItemView] | None = None
    total_amount: Decimal | None = None
    currency: str | None = None
    payment_method: PaymentMethod | None = None
    payment_status: PaymentStatus | None = None
    fulfilment_status: FulfilmentStatus | None = None
    shipping_address: ShipTo | None = None
    shipping_region: Region | None = None
    logistics_partner_id: str | None = None
    payment_partner_id: str | None = None
    placed_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    ship_by: datetime | None = Field(None, description="Promised: ships within 3 business "
                                                       "days of placement.")
    deliver_from: datetime | None = Field(None, description="Delivery window opens: 12 "
                                          "business days after shipping (or ship-by).")
    deliver_by: datetime | None = Field(None, description="Delivery window closes: 15 "
                                        "business days after shipping (or ship-by).")
