"""How each order field is read from a row; the policy picks which ones."""

from typing import Any

from sqlalchemy import and_

from app.access.projection import FieldReader
from app.access.sources import Children, Rows, Source, Stored, stored
from app.core.crypto import Keys
from app.orders.errors import OrderNotFound
from app.orders.models import Order, OrderItem
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


SHIP_TO = ("pseudonymized_at", "id", *(f"ship_{name}_enc" for name in SHIP_ENCRYPTED),
           "ship_country", "ship_state", "ship_city")
ITEM_FIELDS = ("product_name", "quantity", "unit_price")


def _region(keys: Keys, country: str, state: str | None, city: str) -> dict[str, Any]:
    return {"country": country, "state": state, "city": city}


def _ship_to(keys: Keys, pseudonymized_at: Any, row_id: str, *stored_values: Any
             ) -> dict[str, Any] | None:
    """The decrypted address in the order the view shows it; None once pseudonymized."""
    if pseudonymized_at is not None:
        return None
    *tokens, country, state, city = stored_values
    opened = {name: keys.cipher.decrypt_optional(token, context=_context(name), row_id=row_id)
              for name, token in zip(SHIP_ENCRYPTED, tokens, strict=True)}
    return {"recipient_name": opened["recipient_name"], "phone": opened["phone"],
            "country": country, "state": state, "city": city, "street": opened["street"],
            "house_number": opened["house_number"], "postal_code": opened["postal_code"]}


def _items(order: Order, keys: Keys) -> list[dict[str, Any]]:
    return [{name: getattr(item, name) for name in ITEM_FIELDS} for item in order.items]


ORDER_READERS: dict[str, FieldReader] = {
    "id": stored("id"),
    "order_number": stored("order_number"),
    "customer_id": stored("customer_id"),
    "customer_key": Stored(("customer_id",), lambda keys, customer_id:
                           keys.customer_key(customer_id)),
    "items": _items,
    "total_amount": stored("total_amount"),
    "currency": stored("currency"),
    "payment_method": stored("payment_method"),
    "payment_status": stored("payment_status"),
    "fulfilment_status": stored("fulfilment_status"),
    "shipping_address": Stored(SHIP_TO, _ship_to),
    "shipping_region": Stored(("ship_country", "ship_state", "ship_city"), _region),
    "logistics_partner_id": stored("logistics_partner_id"),
    "payment_partner_id": stored("payment_partner_id"),
    "placed_at": stored("placed_at"),
    "shipped_at": stored("shipped_at"),
    "delivered_at": stored("delivered_at"),
    "cancelled_at": stored("cancelled_at"),
    "ship_by": stored("ship_by"),
    "deliver_from": stored("deliver_from"),
    "deliver_by": stored("deliver_by"),
}

ITEMS = Children(field="items", table=OrderItem.__table__, parent="order_id",
                 order_by="position", columns=ITEM_FIELDS)

ORDERS = Source(resource=Resource.ORDER, readers=ORDER_READERS,
                subject=lambda o: o.customer_id, key=lambda o: o.order_number,
                not_found=OrderNotFound, arrived=arrived,
                unarrived=and_(Order.delivered_at.is_(None), Order.cancelled_at.is_(None)),
                rows=Rows(table=Order.__table__, subject="customer_id", key="order_number",
                          arrived=("delivered_at", "cancelled_at"), children=ITEMS))
