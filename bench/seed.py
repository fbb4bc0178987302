"""Seed a fresh benchmark database: customers with addresses and orders, encrypted for real.

PostgreSQL is filled set-based inside the database (`scale_seed.py`: a million customers and ten
million audit entries in minutes); SQLite, kept small, with the app's own models, row by row.
"""

import argparse
import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from scale_seed import customer_id, order_number, order_status, seed_postgres
from sqlalchemy import insert, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.addresses.models import ShippingAddress
from app.addresses.readers import write_address
from app.core.config import Settings, resolve_secrets
from app.core.crypto import Keys, keys_from_settings
from app.core.db import create_engine
from app.core.migrations import upgrade
from app.identity.models import Customer
from app.identity.readers import seal_identity
from app.orders.models import FulfilmentStatus, Order, OrderItem, PaymentMethod
from app.orders.readers import copy_ship_to

PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}
CHUNK = 2000
FIRST = ("Mei", "Jonas", "Amara", "Luis", "Sofia", "Kenji", "Noor", "Elif", "Tomas", "Ada")
LAST = ("Lin", "Schmidt", "Okafor", "Garcia", "Rossi", "Tanaka", "Haddad", "Yilmaz", "Novak")
PLACES = (("DE", "Berlin", "Berlin"), ("FR", None, "Lyon"), ("CN", "Guangdong", "Shenzhen"),
          ("US", "TX", "Austin"), ("NL", None, "Utrecht"), ("JP", "Tokyo", "Tokyo"))
PRODUCTS = (("Dog chew rope", "4.50"), ("Plush cat bed", "29.90"), ("Bird seed 2kg", "7.25"),
            ("Aquarium filter", "54.00"), ("Hamster wheel", "12.80"))


def _row(obj) -> dict:
    """The column values set on an ORM object; columns left unset get their defaults."""
    values = inspect(obj).dict
    return {c.key: values[c.key] for c in obj.__table__.columns if c.key in values}


def build_rows(keys: Keys, customers: int, rng: random.Random) -> dict[type, list[dict]]:
    """Customers with 1-3 addresses and 0-4 orders of 1-3 items each, built with the app's code."""
    rows: dict[type, list[dict]] = {Customer: [], ShippingAddress: [], Order: [], OrderItem: []}
    now = datetime.now(UTC)
    for n in range(customers):
        created = now - timedelta(days=rng.randrange(1, 900), seconds=rng.randrange(86400))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        customer = Customer(id=customer_id(n), created_at=created, updated_at=created)
        seal_identity(customer, keys, {
            "name": f"{first} {last}", "email": f"{first}.{last}.{n}@example.com".lower(),
            "phone": f"+4930{rng.randrange(10**7, 10**8)}" if rng.random() < 0.8 else None})
        rows[Customer].append(_row(customer))
        addresses = []
        for _ in range(rng.randint(1, 3)):
            country, state, city = rng.choice(PLACES)
            address = ShippingAddress(id=str(uuid.uuid4()), customer_id=customer.id,
                                      created_at=created, updated_at=created)
            plain = {
                "recipient_name": f"{first} {last}", "phone": f"+4930{rng.randrange(10**7)}",
                "country": country, "state": state, "city": city,
                "street": f"{rng.choice(LAST)}strasse", "house_number": str(rng.randint(1, 200)),
                "postal_code": f"{rng.randrange(10000, 99999)}"}
            write_address(address, keys, plain)
            addresses.append((address, plain))
            rows[ShippingAddress].append(_row(address))
        for k in range(rng.randint(0, 4)):
            rows[Order].append(_row(_order(keys, rng, customer, rng.choice(addresses), n, k,
                                           rows[OrderItem])))
    return rows


def _order(keys: Keys, rng: random.Random, customer: Customer,
           address: tuple[ShippingAddress, dict], n: int, k: int, items: list[dict]) -> Order:
    """One order with its items (appended to `items`), shipped to a copy of `address`."""
    placed = customer.created_at + timedelta(days=rng.randrange(1, 60))
    status = rng.choice(list(FulfilmentStatus))
    order = Order(
        id=str(uuid.uuid4()), order_number=order_number(n, k), customer_id=customer.id,
        shipping_address_id=address[0].id, currency="EUR",
        payment_method=rng.choice(list(PaymentMethod)).value, payment_status="paid",
        fulfilment_status=status.value, logistics_partner_id="swiftship",
        payment_partner_id="paypal", placed_at=placed,
        shipped_at=placed + timedelta(days=1) if status in ("shipped", "delivered") else None,
        delivered_at=placed + timedelta(days=3) if status == "delivered" else None,
        cancelled_at=placed + timedelta(hours=2) if status == "cancelled" else None,
        created_at=placed, updated_at=placed)
    copy_ship_to(order, address[1], keys)
    total = Decimal(0)
    for position in range(rng.randint(1, 3)):
        name, price = rng.choice(PRODUCTS)
        quantity = rng.randint(1, 4)
        total += Decimal(price) * quantity
        items.append(_row(OrderItem(id=str(uuid.uuid4()), order_id=order.id, position=position,
                                    product_name=name, quantity=quantity,
                                    unit_price=Decimal(price))))
    order.total_amount = total
    return order


async def recreate_postgres(url: str) -> None:
    """Drop and create the benchmark database through the `postgres` maintenance database."""
    target = make_url(url)
    if target.database in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to recreate the database {target.database!r}")
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
            await connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        await admin.dispose()


async def _insert(settings: Settings, rows: dict[type, list[dict]]) -> None:
    """Bulk insert the rows in chunks, parents first; refresh PostgreSQL's planner statistics."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for model, table_rows in rows.items():
                for start in range(0, len(table_rows), CHUNK):
                    await connection.execute(insert(model), table_rows[start:start + CHUNK])
        if not settings.is_sqlite:
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Seeded:
    """What the benchmark may ask for: customer ids and orders whose address is still shared."""

    customer_ids: list[str]
    open_orders: list[str]


def seed(settings: Settings, customers: int = 10_000, *, audit_rows: int = 0, requests: int = 0,
         rng_seed: int = 7) -> Seeded:
    """Create a fresh, migrated database holding `customers` customers (and on PostgreSQL
    `audit_rows` sealed audit entries and `requests` privacy requests)."""
    if settings.is_sqlite:
        path = Path(make_url(settings.database_url).database)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        asyncio.run(recreate_postgres(settings.database_url))
    upgrade(settings.database_url)
    keys = keys_from_settings(resolve_secrets(settings))
    if not settings.is_sqlite:
        dsn = make_url(settings.database_url).set(drivername="postgresql")
        seed_postgres(dsn.render_as_string(hide_password=False), keys, customers=customers,
                      audit_rows=audit_rows, requests=requests)
        return Seeded([customer_id(n) for n in range(customers)],
                      [order_number(n, k) for n in range(customers) for k in (0, 1)
                       if order_status(n, k) in ("placed", "shipped")])
    rows = build_rows(keys, customers, random.Random(rng_seed))
    asyncio.run(_insert(settings, rows))
    return Seeded([row["id"] for row in rows[Customer]],
                  [row["order_number"] for row in rows[Order]
                   if row["fulfilment_status"] in ("placed", "shipped")])


def main() -> None:
    """Seed one database from the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where secrets live")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--audit-rows", type=int, default=0, help="PostgreSQL only")
    parser.add_argument("--requests", type=int, default=0, help="PostgreSQL only")
    args = parser.parse_args()
    seeded = seed(Settings(data_dir=args.data_dir, database_url=args.database_url),
                  args.customers, audit_rows=args.audit_rows, requests=args.requests)
    print(f"seeded {len(seeded.customer_ids)} customers")


if __name__ == "__main__":
    main()
