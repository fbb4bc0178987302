"""Encrypted values are bound to their row: a value copied onto another customer's row is
refused, never shown as that customer's."""

from sqlalchemy import select, update

from app.identity.models import Customer
from app.policy.roles import Role
from tests.factories import create_customer


async def test_a_name_copied_onto_another_row_is_refused(client, auth, inspection_engine,
                                                        session):
    storefront = auth(Role.STOREFRONT)
    alice = await create_customer(client, headers=storefront, name="Alice Copied")
    bob = await create_customer(client, headers=storefront, name="Bob Target")
    stolen = await session.scalar(select(Customer.name_enc).where(Customer.id == alice))
    async with inspection_engine.begin() as connection:
        await connection.execute(update(Customer).where(Customer.id == bob)
                                 .values(name_enc=stolen))

    read = await client.get(f"/v1/customers/{bob}",
                            headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert read.status_code == 500
    assert read.headers["content-type"] == "application/problem+json"
    assert read.json()["code"] == "stored_value_unreadable"
    assert "Alice" not in read.text
    untouched = await client.get(f"/v1/customers/{alice}",
                                 headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert untouched.json()["name"] == "Alice Copied"
