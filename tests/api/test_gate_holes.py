"""The holes the read gate closed, one test each: staff lists, writes that return data, the
export's purpose, consent for every consent-based purpose, and existence leaks."""

from dataclasses import replace

from sqlalchemy import select

from app.access.callers import Reader, Writer
from app.audit.models import AuditEntry
from app.policy.purposes import PURPOSE_TABLE, RESOURCE_FIELDS, Purpose, Resource
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message


async def _reads(session, response) -> list[AuditEntry]:
    return list((await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read",
        AuditEntry.request_id == response.headers["x-request-id"]))).all())


async def _complaint(client, auth, customer_id: str) -> str:
    created = await client.post("/v1/complaints", headers=auth(Role.STOREFRONT), json={
        "customer_id": customer_id, "body": "My silicone pot lid mat is missing."})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_staff_complaint_list_needs_oversight_and_is_audited(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    complaint_id = await _complaint(client, auth, customer_id)
    unnamed = await client.get("/v1/complaints", headers=auth(Role.PRIVACY_OFFICER))
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "purpose_required")
    listed = await client.get("/v1/complaints",
                              headers=auth(Role.PRIVACY_OFFICER, sub="dpo", purpose="oversight"))
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == complaint_id and "body" not in item and "subject" not in item
    (entry,) = await _reads(session, listed)
    assert (entry.actor_id, entry.purpose, entry.resource, entry.subject_id) == (
        "dpo", "oversight", "complaint", customer_id)
    assert set(entry.fields) == set(item)


async def test_staff_request_reads_need_oversight_and_are_audited(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    filed = await client.post("/v1/requests", json={"customer_id": customer_id, "type": "access"},
                              headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    request_id = filed.json()["id"]
    for url in ("/v1/requests", f"/v1/requests/{request_id}"):
        unnamed = await client.get(url, headers=auth(Role.PRIVACY_OFFICER))
        assert (unnamed.status_code, unnamed.json()["code"]) == (400, "purpose_required")
        read = await client.get(url, headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
        assert read.status_code == 200
        (entry,) = await _reads(session, read)
        assert (entry.resource, entry.resource_id, entry.subject_id) == (
            "request", request_id, customer_id)


async def test_consent_change_is_audited_as_a_read_of_what_it_returns(client, auth, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    changed = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                               json={"granted": False},
                               headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert changed.status_code == 200
    (read,) = await _reads(session, changed)
    assert (read.resource, read.purpose, set(read.fields)) == (
        "consent", "self", set(changed.json()))
    unnamed = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                               json={"granted": False},
                               headers=auth(Role.CUSTOMER, sub=customer_id))
    assert unnamed.status_code == 400


async def test_the_export_is_projected_for_the_callers_purpose(client, auth, token, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    signed_in = {"Authorization": "Bearer " + token(Role.STOREFRONT, "storefront-1",
                                                    signed_in_customer=customer_id),
                 "X-Purpose": "service"}
    filed = await client.post("/v1/requests", headers=signed_in,
                              json={"customer_id": customer_id, "type": "access"})
    assert filed.json()["state"] == "completed"
    export = await client.get(f"/v1/requests/{filed.json()['id']}/export",
                              headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert export.status_code == 200, export.text
    document = export.json()
    assert "access_log" not in document  # the service purpose does not cover the access log
    assert set(document["identity"]) == set(RESOURCE_FIELDS[Resource.CUSTOMER]) - {
        "customer_key"}
    assert {e.purpose for e in await _reads(session, export)} == {"service"}
    fraud = await client.get(f"/v1/requests/{filed.json()['id']}/export",
                             headers=auth(Role.FRAUD_ANALYST, purpose="fraud"))
    assert fraud.status_code == 403


async def test_consent_is_checked_for_every_resource_a_consent_purpose_covers(
        client, auth, monkeypatch):
    rule = PURPOSE_TABLE[Purpose.NOTIFICATIONS]
    monkeypatch.setitem(PURPOSE_TABLE, Purpose.NOTIFICATIONS, replace(rule, fields={
        **rule.fields, Resource.ADDRESS: frozenset({"id", "city"}),
        Resource.MESSAGE: frozenset({"id", "subject"})}))
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    await create_address(client, headers=storefront, customer_id=customer_id)
    await create_message(client, headers=storefront, customer_id=customer_id)
    notify = auth(Role.STOREFRONT, purpose="notifications")
    urls = [f"/v1/customers/{customer_id}/addresses", f"/v1/customers/{customer_id}/messages"]
    for url in urls:
        assert (await client.get(url, headers=notify)).status_code == 200
    withdrawn = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                                 json={"granted": False},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert withdrawn.status_code == 200
    for url in urls:
        blocked = await client.get(url, headers=notify)
        assert (blocked.status_code, blocked.json()["code"]) == (403, "consent_withdrawn")


async def test_another_customers_complaint_looks_exactly_like_a_missing_one(client, auth):
    storefront = auth(Role.STOREFRONT)
    mine = await create_customer(client, headers=storefront)
    theirs = await create_customer(client, headers=storefront)
    complaint_id = await _complaint(client, auth, theirs)
    me = auth(Role.CUSTOMER, sub=mine, purpose="self")
    other = await client.get(f"/v1/complaints/{complaint_id}", headers=me)
    missing = await client.get("/v1/complaints/00000000-0000-0000-0000-000000000000", headers=me)
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_a_writer_has_no_purpose_and_a_reader_always_has_one():
    assert "purpose" not in Writer.__dataclass_fields__
    assert Reader.__dataclass_fields__["purpose"].type == "Purpose" or \
        Reader.__dataclass_fields__["purpose"].type is Purpose
