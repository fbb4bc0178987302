"""Data of every retention category, made through the API as the shop would make it."""

from sqlalchemy import insert, select

from app.consents.models import ConsentEvent
from app.core.db import new_id, utcnow
from app.models import Base
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order


async def stored_text(session, keys) -> str:
    """Every value of every row, encrypted values decrypted, as one text."""
    values = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            row_id = row._mapping.get("id")
            for column, value in zip(table.columns, row, strict=True):
                values.append(str(value))
                if column.name.endswith("_enc") and value:
                    values.append(keys.cipher.decrypt(
                        value, context=f"{table.name}.{column.name[:-4]}", row_id=row_id))
    await session.rollback()
    return "\n".join(values)


async def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table, to compare before and after."""
    rows = {table.name: sorted(tuple(str(v) for v in r) for r in
                                (await session.execute(select(table))).all())
            for table in Base.metadata.sorted_tables}
    await session.rollback()
    return rows


async def delivered_order(client, storefront, customer_id: str, address_id: str) -> str:
    """An order placed, shipped and delivered; its number."""
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id)
    for status in ("shipped", "delivered"):
        moved = await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                                  headers=storefront)
        assert moved.status_code == 200, moved.text
    return number


async def shopper(client, auth, *, tag: str) -> dict:
    """A customer with an address, a delivered order, a message and an answered complaint.

    Returns ids and the personal values (`needles`) that expire with them.
    """
    storefront = auth(Role.STOREFRONT)
    street, body = f"Lanternfish Quay {tag}", f"Where is my kettle, ref {tag}?"
    complaint_text, answer = f"Charged twice {tag}", f"Refunded the charge {tag}"
    customer_id = await create_customer(
        client, headers={**storefront, "Idempotency-Key": f"customer-{tag}"})
    address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                      street=street, recipient_name=f"Recipient {tag}")
    number = await delivered_order(client, storefront, customer_id, address_id)
    await create_message(client, headers=storefront, customer_id=customer_id, body=body,
                         order_number=number)
    filed = await client.post("/v1/complaints", json={"customer_id": customer_id,
                                                      "body": complaint_text},
                              headers=storefront)
    answered = await client.post(f"/v1/complaints/{filed.json()['id']}/answer",
                                 json={"answer": answer},
                                 headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
    assert answered.status_code == 200, answered.text
    withdrawn = await client.post(
        "/v1/requests", json={"customer_id": customer_id, "type": "consent_withdrawal"},
        headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert withdrawn.json()["state"] == "completed", withdrawn.text
    access = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                     "type": "access"},
                               headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert access.json()["state"] == "awaiting_verification", access.text
    return {"customer_id": customer_id, "address_id": address_id, "order_number": number,
            "needles": [street, f"Recipient {tag}", body, complaint_text, answer]}


async def erased_shopper(client, auth, app, session, deliver_mail, *, tag: str) -> dict:
    """A customer who asked for deletion: pseudonymized orders, and consent history kept."""
    from tests.api.test_deletion import _delete

    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await delivered_order(client, storefront, customer_id, address_id)
    done = await _delete(client, auth, customer_id, app, session, deliver_mail)
    assert done.json()["state"] == "completed", done.text
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(ConsentEvent).values(
            id=new_id(), customer_id=customer_id, purpose="notifications", granted=True,
            changed_at=utcnow(), changed_by_role="customer"))
    return {"customer_id": customer_id, "order_number": number, "tag": tag}
