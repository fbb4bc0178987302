"""Legal disclosures: recorded and audited, the customer told at once or when the legal bar
ends (a job, tested with a fake clock), and visible to the customer only from then on."""

from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.disclosures.service import notify_due
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from tests.factories import create_customer

OVERSIGHT = "oversight"


def disclosure(customer_id: str, **overrides) -> dict:
    return {"customer_id": customer_id, "authority": "Shenzhen Public Security Bureau",
            "legal_basis": "Criminal Procedure Law art. 54", "reference": "SZ-2026-7781",
            "fields": ["name", "phone", "orders"], **overrides}


async def record(client, auth, body: dict) -> dict:
    response = await client.post("/v1/disclosures", json=body,
                                 headers=auth(Role.PRIVACY_OFFICER, sub="dpo"))
    assert response.status_code == 201, response.text
    return response.json()


async def letters(session, customer_id: str) -> list[OutboxMessage]:
    return list((await session.scalars(select(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id,
        OutboxMessage.kind == "legal_disclosure"))).all())


async def access_log(client, auth, customer_id: str) -> list[dict]:
    response = await client.get(f"/v1/customers/{customer_id}/access-log?limit=200",
                                headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def export(client, auth, token, customer_id: str) -> dict:
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"}, headers=signed_in)
    response = await client.get(f"/v1/requests/{filed.json()['id']}/export",
                                headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_without_a_bar_the_customer_is_told_at_once(client, auth, token, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    receipt = await record(client, auth, disclosure(customer_id))
    assert receipt["notified"] is True
    assert len(await letters(session, customer_id)) == 1
    log = await access_log(client, auth, customer_id)
    disclosed = [e for e in log if e["action"] == "disclose"]
    assert disclosed and disclosed[0]["fields"] == ["name", "phone", "orders"]
    assert disclosed[0]["resource"] == "disclosure"
    document = await export(client, auth, token, customer_id)
    assert [d["authority"] for d in document["disclosures"]] == [
        "Shenzhen Public Security Bureau"]


async def test_a_bar_keeps_it_quiet_until_the_job_lifts_it(client, auth, token, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    bar_ends = utcnow().date() + timedelta(days=30)
    receipt = await record(client, auth, disclosure(customer_id,
                                                    notify_after=bar_ends.isoformat()))
    assert receipt["notified"] is False
    listed = await client.get(f"/v1/disclosures?customer_id={customer_id}",
                              headers=auth(Role.PRIVACY_OFFICER, purpose=OVERSIGHT))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert await letters(session, customer_id) == []
    assert not [e for e in await access_log(client, auth, customer_id)
                if e["resource"] == "disclosure"]
    assert (await export(client, auth, token, customer_id))["disclosures"] == []

    sessions, keys = app.state.sessions, app.state.keys
    assert await notify_due(sessions, keys, now=lambda: utcnow() + timedelta(days=29)) == 0
    assert await notify_due(sessions, keys, now=lambda: utcnow() + timedelta(days=30)) == 1
    assert await notify_due(sessions, keys, now=lambda: utcnow() + timedelta(days=31)) == 0
    assert len(await letters(session, customer_id)) == 1
    assert [e for e in await access_log(client, auth, customer_id)
            if e["action"] == "disclose"]
    assert len((await export(client, auth, token, customer_id))["disclosures"]) == 1


async def test_every_step_is_audited(client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    bar_ends = utcnow().date() + timedelta(days=3)
    receipt = await record(client, auth, disclosure(customer_id,
                                                    notify_after=bar_ends.isoformat()))
    await client.get(f"/v1/disclosures/{receipt['id']}",
                     headers=auth(Role.PRIVACY_OFFICER, purpose=OVERSIGHT))
    await notify_due(app.state.sessions, app.state.keys,
                     now=lambda: utcnow() + timedelta(days=3))
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.resource_id == receipt["id"]).order_by(AuditEntry.occurred_at))).all()
    steps = [(e.action, e.subject_id) for e in entries]
    assert ("create", None) in steps and ("read", None) in steps
    assert ("disclose", customer_id) in steps and ("notify", customer_id) in steps


async def test_officer_searches_by_customer_authority_and_dates(client, auth):
    first = await create_customer(client, headers=auth(Role.STOREFRONT))
    second = await create_customer(client, headers=auth(Role.STOREFRONT))
    now = utcnow()
    await record(client, auth, disclosure(first, disclosed_at=(now - timedelta(days=40))
                                          .isoformat()))
    await record(client, auth, disclosure(second, authority="Customs Office Ningbo"))
    officer = auth(Role.PRIVACY_OFFICER, purpose=OVERSIGHT)

    async def found(query: str) -> list[str]:
        response = await client.get(f"/v1/disclosures?{query}", headers=officer)
        assert response.status_code == 200, response.text
        return [d["customer_id"] for d in response.json()["items"]]

    assert await found("") == [second, first]  # newest first
    assert await found(f"customer_id={first}") == [first]
    assert await found("authority=customs") == [second]
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert await found(f"disclosed_from={since}") == [second]
    assert await found(f"disclosed_to={since}") == [first]


async def test_disclosures_are_for_the_privacy_officer(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    agent = await client.get("/v1/disclosures",
                             headers=auth(Role.SUPPORT_AGENT, purpose=OVERSIGHT))
    assert agent.status_code == 403 and agent.json()["code"] == "role_not_permitted"
    body = disclosure(customer_id)
    customer = await client.post("/v1/disclosures", json=body,
                                 headers=auth(Role.CUSTOMER, sub=customer_id))
    assert customer.status_code == 403
    no_purpose = await client.get("/v1/disclosures", headers=auth(Role.PRIVACY_OFFICER))
    assert no_purpose.status_code == 400
    unknown = await client.post("/v1/disclosures", json=disclosure("no-such-customer"),
                                headers=auth(Role.PRIVACY_OFFICER))
    assert unknown.status_code == 404
