"""Creating, reading, finding and correcting customers."""

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.identity.models import Customer
from app.policy.roles import Role
from tests.factories import create_customer, customer_payload


async def test_storefront_creates_and_reads_a_customer(client, auth, session):
    storefront = auth(Role.STOREFRONT)
    payload = customer_payload(phone="+86 138 0013 8000")
    created = await client.post("/v1/customers", json=payload, headers=storefront)
    assert created.status_code == 201
    customer_id = created.json()["id"]
    assert created.json()["fields"] == ["email", "name", "phone"]

    read = await client.get(f"/v1/customers/{customer_id}",
                            headers=auth(Role.STOREFRONT, purpose="service"))
    assert read.status_code == 200
    body = read.json()
    assert body["name"] == payload["name"]
    assert body["email"] == payload["email"]
    assert body["phone"] == "+8613800138000"

    stored = await session.scalar(select(Customer).where(Customer.id == customer_id))
    assert payload["name"] not in stored.name_enc
    assert payload["email"] not in stored.email_enc


async def test_read_without_purpose_is_400(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    response = await client.get(f"/v1/customers/{customer_id}", headers=auth(Role.STOREFRONT))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "purpose_required"


async def test_find_by_email_uses_the_blind_index(client, auth):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront, email="Find.Me@example.com")
    found = await client.post("/v1/customers/lookup", json={"email": "find.me@EXAMPLE.com"},
                              headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert found.status_code == 200
    assert found.json()["id"] == customer_id
    missing = await client.post("/v1/customers/lookup", json={"email": "nobody@example.com"},
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "customer_not_found"


async def test_duplicate_email_is_409(client, auth):
    storefront = auth(Role.STOREFRONT)
    await create_customer(client, headers=storefront, email="twice@example.com")
    again = await client.post("/v1/customers", json=customer_payload(email="twice@example.com"),
                              headers=storefront)
    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"


async def test_correction_changes_values_and_audits_field_names(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    response = await client.patch(f"/v1/customers/{customer_id}",
                                  json={"phone": "+8613900139000"},
                                  headers=auth(Role.SUPPORT_AGENT, sub="agent-7"))
    assert response.status_code == 200
    assert response.json()["fields"] == ["phone"]
    read = await client.get(f"/v1/customers/{customer_id}",
                            headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert read.json()["phone"] == "+8613900139000"

    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert entry.actor_id == "agent-7"
    assert entry.fields == ["phone"]
    assert "+8613900139000" not in str(entry.__dict__)


async def test_unknown_fields_and_bad_values_are_422(client, auth):
    storefront = auth(Role.STOREFRONT)
    extra = await client.post("/v1/customers", json=customer_payload(birthday="1990-01-01"),
                              headers=storefront)
    assert extra.status_code == 422
    assert extra.json()["code"] == "validation_failed"
    bad_phone = await client.post("/v1/customers", json=customer_payload(phone="12"),
                                  headers=storefront)
    assert bad_phone.status_code == 422
    bad_email = await client.post("/v1/customers", json=customer_payload(email="not-an-email"),
                                  headers=storefront)
    assert bad_email.status_code == 422


async def test_only_the_storefront_creates_customers(client, auth):
    response = await client.post("/v1/customers", json=customer_payload(),
                                 headers=auth(Role.SUPPORT_AGENT))
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_permitted"


async def test_idempotency_key_replays_and_rejects_other_bodies(client, auth, session):
    headers = {**auth(Role.STOREFRONT), "Idempotency-Key": "checkout-42"}
    payload = customer_payload()
    first = await client.post("/v1/customers", json=payload, headers=headers)
    second = await client.post("/v1/customers", json=payload, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    rows = (await session.scalars(select(Customer))).all()
    assert len(rows) == 1
    other = await client.post("/v1/customers", json=customer_payload(), headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
