"""Deletion: identity, addresses, messages and contacts erased; kept orders pseudonymized."""

import json

from sqlalchemy import select, text

from app.models import Base
from app.policy.roles import Role
from tests.factories import (
    create_address,
    create_customer,
    create_message,
    create_order,
)

NAME, EMAIL, PHONE = "Ingrid Vasquez-Delete", "ingrid.delete@example.com", "+4915123456789"
STREET, HOUSE, BODY = "Zerstoerungsallee", "Hinterhaus 77", "Please remove everything about me"


async def _everything_stored(session, keys) -> str:
    """Every value of every row, with every encrypted value decrypted, as one text."""
    values = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            for column, value in zip(table.columns, row, strict=True):
                values.append(str(value))
                if column.name.endswith("_enc") and value:
                    values.append(keys.cipher.decrypt(
                        value, context=f"{table.name}.{column.name[:-4]}", row_id=row.id))
    return "\n".join(values)


async def _delete(client, auth, customer_id, app, session, deliver):
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "deletion"},
                              headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    from tests.api.test_requests import _code
    code = await _code(session, app.state.keys, filed.json()["id"])
    done = await client.post(f"/v1/requests/{filed.json()['id']}/verify", json={"code": code},
                             headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    await deliver()
    return done


async def test_deletion_erases_everything_but_the_pseudonymized_orders(
        client, auth, app, session, deliver_mail):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, name=NAME, email=EMAIL,
                                        phone=PHONE)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                      recipient_name=NAME, street=STREET, house_number=HOUSE,
                                      phone=PHONE)
    delivered = await create_order(client, headers=storefront, customer_id=customer_id,
                                   address_id=address_id)
    for status in ("shipped", "delivered"):
        await client.post(f"/v1/orders/{delivered}/fulfilment", json={"status": status},
                          headers=storefront)
    await create_message(client, headers=storefront, customer_id=customer_id, body=BODY)
    await client.post("/v1/complaints", json={"customer_id": customer_id, "body": BODY},
                      headers=storefront)

    done = await _delete(client, auth, customer_id, app, session, deliver_mail)
    assert done.status_code == 200, done.text
    outcome = done.json()["outcome"]
    assert done.json()["state"] == "completed"
    assert outcome["kept"][0]["category"] == "orders"
    assert "why" in outcome["kept"][0] and "until" in outcome["kept"][0]

    stored = await _everything_stored(session, app.state.keys)
    for value in (NAME, EMAIL, PHONE, STREET, HOUSE, BODY, "Ingrid"):
        assert value not in stored, f"{value!r} survived deletion"
    order = await client.get(f"/v1/orders/{delivered}",
                             headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert order.status_code == 200
    assert order.json()["shipping_address"] is None
    assert order.json()["total_amount"] == "9.00"
    assert order.json()["payment_status"] == "pending"
    lookup = await client.post("/v1/customers/lookup", json={"email": EMAIL},
                               headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert lookup.status_code == 404
    again = await client.get(f"/v1/customers/{customer_id}",
                             headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert again.status_code == 404


async def test_orders_on_their_way_keep_the_address_until_delivery(
        client, auth, app, session, deliver_mail):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, name=NAME, email=EMAIL)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                      street=STREET, house_number=HOUSE)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id, logistics_partner_id="swiftship")
    await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "shipped"},
                      headers=storefront)

    done = await _delete(client, auth, customer_id, app, session, deliver_mail)
    kept = done.json()["outcome"]["kept"]
    assert kept[1]["orders"] == [number]

    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")
    parcel = await client.get(f"/v1/orders/{number}", headers=carrier)
    assert parcel.json()["shipping_address"]["street"] == STREET
    stored = await _everything_stored(session, app.state.keys)
    assert NAME not in stored and EMAIL not in stored

    await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "delivered"},
                      headers=carrier)
    stored = await _everything_stored(session, app.state.keys)
    assert STREET not in stored and HOUSE not in stored


async def test_deletion_is_idempotent_at_the_database_level(client, auth, app, session,
                                                            deliver_mail):
    from app.requests.erasure import erase_customer

    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT), email=EMAIL)
    await _delete(client, auth, customer_id, app, session, deliver_mail)
    async with app.state.sessions() as db, db.begin():
        second = await erase_customer(db, customer_id, retention_days=10)
    assert second["kept"][0]["category"] == "orders"
    rows = (await session.execute(text("SELECT name_enc, email_index, erased_at FROM customer")
                                  )).all()
    assert [(r[0], r[1]) for r in rows] == [(None, None)]
    assert json.dumps(second)
