"""Complaints and inquiries: answered within 3 business days, overdue ones listed."""

from datetime import timedelta

from sqlalchemy import select, update

from app.complaints.models import Complaint
from app.core.db import utcnow
from app.policy.roles import Role
from tests.factories import create_customer


async def test_complaint_is_due_in_three_business_days_and_answered(client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    created = await client.post("/v1/complaints", json={
        "customer_id": customer_id, "kind": "complaint", "subject": "Address shared?",
        "body": "My card 4111 1111 1111 1111 was charged twice"},
        headers=auth(Role.CUSTOMER, sub=customer_id))
    assert created.status_code == 201
    complaint_id = created.json()["id"]
    stored = await session.get(Complaint, complaint_id)
    calendar = app.state.request_rules.calendar
    assert stored.due_at == calendar.due_at(stored.received_at, 3)

    read = await client.get(f"/v1/complaints/{complaint_id}",
                            headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert read.json()["body"] == "My card **** **** **** 1111 was charged twice"
    answered = await client.post(f"/v1/complaints/{complaint_id}/answer",
                                 json={"answer": "We refunded the second charge."},
                                 headers=auth(Role.SUPPORT_AGENT, sub="agent-7",
                                              purpose="service"))
    assert answered.status_code == 200
    assert answered.json()["answered_at"] is not None
    mine = await client.get(f"/v1/complaints/{complaint_id}",
                            headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert mine.json()["answer"] == "We refunded the second charge."
    twice = await client.post(f"/v1/complaints/{complaint_id}/answer",
                              json={"answer": "again"},
                              headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert twice.status_code == 409


async def test_overdue_complaints_are_listed(client, auth, inspection_engine):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    created = await client.post("/v1/complaints", json={"customer_id": customer_id,
                                                        "body": "Where is my order?"},
                                headers=auth(Role.STOREFRONT))
    staff = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    assert (await client.get("/v1/complaints?overdue=true", headers=staff)).json()["items"] == []
    async with inspection_engine.begin() as connection:
        await connection.execute(update(Complaint).values(due_at=utcnow() - timedelta(hours=1)))
    overdue = (await client.get("/v1/complaints?overdue=true", headers=staff)).json()["items"]
    assert [c["id"] for c in overdue] == [created.json()["id"]]
    assert "body" not in overdue[0]
    fraud = await client.get(f"/v1/complaints/{created.json()['id']}",
                             headers=auth(Role.FRAUD_ANALYST, purpose="fraud"))
    assert fraud.status_code == 403


async def test_a_retried_complaint_is_stored_once(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    headers = {**auth(Role.STOREFRONT), "Idempotency-Key": "complaint-7"}
    body = {"customer_id": customer_id, "body": "The dish rack arrived bent."}
    first = await client.post("/v1/complaints", json=body, headers=headers)
    again = await client.post("/v1/complaints", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert len((await session.scalars(select(Complaint))).all()) == 1
