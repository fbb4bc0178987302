"""No personal value is ever stored in plaintext: every column of every table is scanned."""

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from app.audit.models import AuditEntry
from app.models import Base
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order

NAME = "Thaddeus Quorrington-Vale"
EMAIL = "Thaddeus.QUORRINGTON@Scanwell-Example.org"
PHONE = "+44 20 7946 0958"
RECIPIENT = "Philippa Wrexham-Okonkwo"
ADDRESS_PHONE = "+1 (415) 555-2671"
STREET = "Marigold Esplanade"
HOUSE_NUMBER = "417-Zed"
POSTAL_CODE = "QX9 8WV"
SUBJECT = "Ochre lanterns parcel"
BODY = "Please hand the ochre lanterns to Gwendolyn Pemberton-Sky at the back gate."

NEEDLES = [NAME, "Quorrington", EMAIL, EMAIL.lower(), "scanwell-example", PHONE,
           "+442079460958", "442079460958", "2079460958", "7946 0958", RECIPIENT, "Wrexham",
           ADDRESS_PHONE, "+14155552671", "4155552671", STREET, "Marigold", HOUSE_NUMBER,
           POSTAL_CODE, SUBJECT, "ochre lanterns", BODY, "Pemberton-Sky"]


async def _create_everything(client, auth) -> dict:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(
        client, headers={**storefront, "Idempotency-Key": "scan-customer"}, name=NAME,
        email=EMAIL, phone=PHONE)
    address_id = await create_address(
        client, headers=storefront, customer_id=customer_id, recipient_name=RECIPIENT,
        phone=ADDRESS_PHONE, street=STREET, house_number=HOUSE_NUMBER, postal_code=POSTAL_CODE)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id)
    await create_message(client, headers=storefront, customer_id=customer_id,
                         subject=SUBJECT, body=BODY, order_number=order_number)
    return {"customer_id": customer_id, "address_id": address_id,
            "order_number": order_number}


async def _read_everything_back(client, auth, created: dict) -> None:
    service = auth(Role.SUPPORT_AGENT, purpose="service")
    customer_id = created["customer_id"]
    customer = (await client.get(f"/v1/customers/{customer_id}", headers=service)).json()
    assert (customer["name"], customer["phone"]) == (NAME, "+442079460958")
    assert customer["email"].lower() == EMAIL.lower()
    address = (await client.get(f"/v1/customers/{customer_id}/addresses/"
                                f"{created['address_id']}", headers=service)).json()
    assert (address["street"], address["house_number"]) == (STREET, HOUSE_NUMBER)
    assert address["phone"] == "+14155552671"
    order = (await client.get(f"/v1/orders/{created['order_number']}", headers=service)).json()
    assert order["shipping_address"]["recipient_name"] == RECIPIENT
    messages = (await client.get(f"/v1/customers/{customer_id}/messages",
                                 headers=service)).json()
    assert [(m["subject"], m["body"]) for m in messages["items"]] == [(SUBJECT, BODY)]


async def _table_names(session) -> list[str]:
    stored = await session.run_sync(lambda s: inspect(s.connection()).get_table_names())
    known = [t.name for t in Base.metadata.sorted_tables]
    return known + sorted(set(stored) - set(known) - {"alembic_version"})


async def _all_rows(session) -> dict[str, list[tuple]]:
    rows = {}
    for name in await _table_names(session):
        result = await session.execute(text(f'SELECT * FROM "{name}"'))
        rows[name] = [tuple(row) for row in result]
    await session.rollback()
    return rows


def _as_text(value) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


async def test_no_table_holds_a_personal_value_in_plaintext(client, auth, session):
    """After creating and reading a full customer, no column anywhere holds a value."""
    created = await _create_everything(client, auth)
    await _read_everything_back(client, auth, created)

    rows = await _all_rows(session)
    for table in ("customer", "shipping_address", "shop_order", "order_item", "message",
                  "idempotency_record"):
        assert len(rows[table]) == 1, table
    assert len(rows["audit_entry"]) >= 8

    leaks = [(table, needle)
             for table, table_rows in rows.items() for row in table_rows for value in row
             for needle in NEEDLES if needle.lower() in _as_text(value).lower()]
    assert leaks == []


async def test_audit_rows_name_fields_but_hold_no_values(client, auth, session):
    """Audit entries of the writes and reads name the fields, never what they held."""
    created = await _create_everything(client, auth)
    await _read_everything_back(client, auth, created)

    entries = (await session.scalars(select(AuditEntry))).all()
    by_key = {(e.action, e.resource): e for e in entries}
    assert by_key[("create", "customer")].fields == ["email", "name", "phone"]
    assert {"recipient_name", "phone", "street", "house_number", "postal_code"} <= set(
        by_key[("create", "address")].fields)
    assert {"subject", "body"} <= set(by_key[("create", "message")].fields)
    assert {"name", "email", "phone"} <= set(by_key[("read", "customer")].fields)
    assert {"street", "house_number"} <= set(by_key[("read", "address")].fields)
    assert "shipping_address" in by_key[("read", "order")].fields
    assert "body" in by_key[("read", "message")].fields
    for entry in entries:
        recorded = " ".join(_as_text(getattr(entry, c.name)) for c in AuditEntry.__table__.c)
        assert [n for n in NEEDLES if n.lower() in recorded.lower()] == []


async def test_sqlite_file_holds_no_personal_value(client, auth, settings, inspection_engine):
    """On SQLite, not even the raw database and WAL bytes contain a personal value."""
    if not settings.is_sqlite:
        pytest.skip("raw file scan applies to the embedded SQLite database")
    created = await _create_everything(client, auth)
    await _read_everything_back(client, auth, created)
    database = Path(inspection_engine.url.database)
    files = [str(p) for p in (database, Path(f"{database}-wal")) if p.exists()]
    # Read through another process: closing a descriptor of the database file in this
    # process would drop the POSIX locks SQLite holds on it.
    reader = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys\nfor p in sys.argv[1:]: "
        "sys.stdout.buffer.write(open(p, 'rb').read())", *files,
        stdout=asyncio.subprocess.PIPE)
    raw, _ = await asyncio.wait_for(reader.communicate(), timeout=60)
    assert reader.returncode == 0 and raw
    haystack = raw.lower()
    assert [n for n in NEEDLES if n.lower().encode() in haystack] == []
