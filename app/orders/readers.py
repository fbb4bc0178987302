"""How each order field is read from a row; the policy picks which ones."""

from typing import Any

from sqlalchemy import and_

from app.access.projection import FieldReader
from app.access.sources import Source
from app.core.crypto import Keys
from app.orders.errors import OrderNotFound
from app.orders.models import Order
from app.policy.purposes import Resource

SHIP_ENCRYPTED = ("recipient_name", "phone", "street", "house_number", "postal_code")
PSEUDONYMIZED_SHIP_TO = {f"ship_{name}_enc": None for name in SHIP_ENCRYPTED}


def _context(name: str) -> str:
    return f"shop_order.ship_{name}"


def copy_ship_to(order: Order, address: dict[str, Any], keys: Keys) -> None:
    """Copy a plain book address onto the order (its id set), encrypted under the order's own
    contexts."""
    for name in SHIP_ENCRYPTED:
        setattr(order, f"ship_{name}_enc",
                keys.cipher.encrypt_optional(address[name], context=_context(name),
                                             row_id=order.id))
    order.ship_country, order.ship_state, order.ship_city = (
        address["country"], address["state"], address["city"])


def arrived(order: Order) -> bool:
    """Delivered or cancelled: the carrier's part is over, so the address is sealed."""
    return order.delivered_at is not None or order.cancelled_at is not None


def _region(order: Order) -> dict[str, Any]:
    return {"country": order.ship_country, "state": order.ship_state, "city": order.ship_city}


def _ship_to(order: Order, keys: Keys) -> dict[str, Any] | None:
    if order.pseudonymized_at is not None:
        return None
    values = {name: keys.cipher.decrypt_optional(getattr(order, f"ship_{name}_enc"),
                                                 context=_context(name), row_id=order.id)
              for name in SHIP_ENCRYPTED}
    return {**values, **_region(order)}


def _items(order: Order) -> list[dict[str, Any]]:
    return [{"product_name": i.product_name, "quantity": i.quantity, "unit_price": i.unit_price}
            for i in order.items]


ORDER_READERS: dict[str, FieldReader] = {
    "id": lambda o, k: o.id,
    "order_number": lambda o, k: o.order_number,
    "customer_id": lambda o, k: o.customer_id,
    "customer_key": lambda o, k: k.customer_key(o.customer_id),
    "items": lambda o, k: _items(o),
    "total_amount": lambda o, k: o.total_amount,
    "currency": lambda o, k: o.currency,
    "payment_method": lambda o, k: o.payment_method,
    "payment_status": lambda o, k: o.payment_status,
    "fulfilment_status": lambda o, k: o.fulfilment_status,
    "shipping_address": _ship_to,
    "shipping_region": lambda o, k: _region(o),
    "logistics_partner_id": lambda o, k: o.logistics_partner_id,
    "payment_partner_id": lambda o, k: o.payment_partner_id,
    "placed_at": lambda o, k: o.placed_at,
    "shipped_at": lambda o, k: o.shipped_at,
    "delivered_at": lambda o, k: o.delivered_at,
    "cancelled_at": lambda o, k: o.cancelled_at,
    "ship_by": lambda o, k: o.ship_by,
    "deliver_from": lambda o, k: o.deliver_from,
    "deliver_by": lambda o, k: o.deliver_by,
}

ORDERS = Source(resource=Resource.ORDER, readers=ORDER_READERS,
                subject=lambda o: o.customer_id, key=lambda o: o.order_number,
                not_found=OrderNotFound, arrived=arrived,
                unarrived=and_(Order.delivered_at.is_(None), Order.cancelled_at.is_(None)))
