"""Customers' rights: filing, verifying, carrying out and following requests."""

from datetime import timedelta

from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.identity.models import Customer
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from app.requests.models import PrivacyRequest, VerificationGuard
from tests.factories import create_address, create_customer, create_message, create_order


async def _code(session, keys, request_id: str) -> str:
    """The one-time code from the newest verification mail (what the customer would read)."""
    rows = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "verification_code").order_by(OutboxMessage.created_at))).all()
    body = keys.cipher.decrypt(rows[-1].body_enc, context="outbox_message.body",
                               row_id=rows[-1].id)
    return next(word.strip(".") for word in body.split() if word.strip(".").isdigit()
                and len(word.strip(".")) == 6)


async def _file(client, auth, customer_id: str, type_: str, **extra):
    return await client.post("/v1/requests", json={"customer_id": customer_id, "type": type_,
                                                   **extra},
                             headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))


async def test_access_request_is_verified_by_code_and_completed_with_due_date(
        client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    filed = await _file(client, auth, customer_id, "access")
    assert filed.status_code == 201
    assert filed.json()["state"] == "awaiting_verification"
    assert filed.json()["due_at"] is None

    code = await _code(session, app.state.keys, filed.json()["id"])
    verified = await client.post(f"/v1/requests/{filed.json()['id']}/verify",
                                 json={"code": code},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["state"] == "completed"
    assert body["verified_by"] == "code"
    stored = await session.get(PrivacyRequest, body["id"])
    calendar = app.state.request_rules.calendar
    assert stored.due_at == calendar.due_at(stored.verified_at, 2)
    assert stored.code_hash is None


async def test_access_export_holds_everything_and_is_audited(client, auth, token, session):
    storefront = auth(Role.STOREFRONT, sub="storefront-1")
    customer_id = await create_customer(client, headers=storefront, name="Export Me")
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id)
    await create_message(client, headers=storefront, customer_id=customer_id)
    await client.get(f"/v1/customers/{customer_id}",
                     headers=auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service"))
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"}, headers=signed_in)
    assert filed.json()["state"] == "completed"
    assert filed.json()["verified_by"] == "storefront_session"

    export = await client.get(f"/v1/requests/{filed.json()['id']}/export",
                              headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert export.status_code == 200, export.text
    document = export.json()
    assert set(document) == {"identity", "addresses", "orders", "messages", "complaints",
                             "consents", "access_log", "policies", "disclosures",
                             "retention"}
    assert document["identity"]["name"] == "Export Me"
    assert [a["id"] for a in document["addresses"]] == [address_id]
    assert [o["order_number"] for o in document["orders"]] == [number]
    assert len(document["messages"]) == 1
    assert any(e["actor_id"] == "agent-7" and e["purpose"] == "service"
               for e in document["access_log"])
    assert document["consents"][0]["purpose"] == "notifications"
    assert {r["category"] for r in document["retention"]} >= {"orders", "access log"}
    reads = (await session.scalars(select(AuditEntry).where(
        AuditEntry.request_id == export.headers["x-request-id"], AuditEntry.action == "read"))
    ).all()
    assert {e.purpose for e in reads} == {"self"}
    assert {e.resource for e in reads} == {"customer", "address", "order", "message", "consent",
                                           "access_log"}
    (identity,) = [e for e in reads if e.resource == "customer"]
    assert set(identity.fields) == set(document["identity"])


async def test_duplicate_open_request_is_answered_with_the_open_one(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    first = await _file(client, auth, customer_id, "deletion")
    second = await _file(client, auth, customer_id, "deletion")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


async def test_wrong_codes_exhaust_the_request(client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, auth, customer_id, "access")).json()["id"]
    code = await _code(session, app.state.keys, request_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    headers = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    codes = []
    for _ in range(5):
        response = await client.post(f"/v1/requests/{request_id}/verify", json={"code": wrong},
                                     headers=headers)
        codes.append((response.status_code, response.json()["code"]))
    # the fifth wrong code also locks the customer (PRIVACY_VERIFICATION_LOCK_AFTER=5)
    assert codes == [(422, "verification_failed")] * 4 + [(429, "verification_locked")]
    assert int(response.headers["Retry-After"]) == 300
    late = await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                             headers=headers)
    assert late.status_code == 409
    stored = await session.get(PrivacyRequest, request_id)
    assert stored.state == "rejected" and "file the request again" in stored.rejection_reason


async def test_expired_code_rejects_the_request(client, auth, app, session, inspection_engine):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, auth, customer_id, "correction",
                              changes={"name": "New Name"})).json()["id"]
    code = await _code(session, app.state.keys, request_id)
    async with inspection_engine.begin() as connection:
        await connection.execute(update(PrivacyRequest).where(PrivacyRequest.id == request_id)
                                 .values(code_expires_at=utcnow() - timedelta(seconds=1)))
    response = await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert response.status_code == 422
    assert response.json()["code"] == "verification_expired"
    read = await client.get(f"/v1/requests/{request_id}",
                            headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert read.json()["state"] == "rejected"


async def test_correction_applies_changes_and_audits_field_names(client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, auth, customer_id, "correction",
                              changes={"phone": "+8613900139000"})).json()["id"]
    code = await _code(session, app.state.keys, request_id)
    done = await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                             headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert done.json()["state"] == "completed"
    assert done.json()["outcome"] == {"corrected": ["phone"]}
    read = await client.get(f"/v1/customers/{customer_id}",
                            headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert read.json()["phone"] == "+8613900139000"
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "update", AuditEntry.subject_id == customer_id))).all()
    assert [e.fields for e in entries] == [["phone"]]


async def test_privacy_officer_sees_overdue_requests(client, auth, app, session,
                                                     inspection_engine):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, auth, customer_id, "correction")).json()["id"]
    code = await _code(session, app.state.keys, request_id)
    verified = await client.post(f"/v1/requests/{request_id}/verify", json={"code": code},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert verified.json()["state"] == "verified"  # staff must apply the correction
    officer = auth(Role.PRIVACY_OFFICER, sub="dpo", purpose="oversight")
    assert (await client.get("/v1/requests?overdue=true", headers=officer)).json()["items"] == []
    async with inspection_engine.begin() as connection:
        await connection.execute(update(PrivacyRequest).where(PrivacyRequest.id == request_id)
                                 .values(due_at=utcnow() - timedelta(hours=1)))
    overdue = (await client.get("/v1/requests?overdue=true", headers=officer)).json()["items"]
    assert [(r["id"], r["overdue"]) for r in overdue] == [(request_id, True)]
    applied = await client.post(f"/v1/requests/{request_id}/correction",
                                json={"name": "Corrected Name"},
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert applied.json()["state"] == "completed"
    assert (await client.get("/v1/requests?overdue=true", headers=officer)).json()["items"] == []
    mine = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    assert (await client.get("/v1/requests", headers=mine)).status_code == 403


async def test_rejection_carries_a_reason(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request_id = (await _file(client, auth, customer_id, "access")).json()["id"]
    rejected = await client.post(f"/v1/requests/{request_id}/reject",
                                 json={"reason": "Filed twice by mistake."},
                                 headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Filed twice by mistake."


async def test_customers_reach_only_their_own_requests(client, auth):
    storefront = auth(Role.STOREFRONT)
    mine = await create_customer(client, headers=storefront)
    other = await create_customer(client, headers=storefront)
    assert (await _file(client, auth, other, "access")).status_code == 201
    forged = await client.post("/v1/requests", json={"customer_id": other, "type": "deletion"},
                               headers=auth(Role.CUSTOMER, sub=mine, purpose="self"))
    assert forged.status_code == 404
    stored = await client.get("/v1/requests?type=access",
                              headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
    request_id = stored.json()["items"][0]["id"]
    assert (await client.get(f"/v1/requests/{request_id}",
                             headers=auth(Role.CUSTOMER, sub=mine, purpose="self"))
            ).status_code == 404


async def test_consent_withdrawal_blocks_reads_at_once(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    notify = auth(Role.STOREFRONT, purpose="notifications")
    assert (await client.get(f"/v1/customers/{customer_id}", headers=notify)).status_code == 200
    filed = await _file(client, auth, customer_id, "consent_withdrawal",
                        purposes=["notifications"])
    assert filed.status_code == 201
    assert filed.json()["state"] == "completed"
    assert filed.json()["due_at"] == filed.json()["verified_at"]
    blocked = await client.get(f"/v1/customers/{customer_id}", headers=notify)
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "consent_withdrawn"
    other_purpose = await client.get(f"/v1/customers/{customer_id}",
                                     headers=auth(Role.STOREFRONT, purpose="service"))
    assert other_purpose.status_code == 200
    unnamed = await client.get(f"/v1/customers/{customer_id}/consents",
                               headers=auth(Role.CUSTOMER, sub=customer_id))
    assert unnamed.status_code == 400
    consents = await client.get(f"/v1/customers/{customer_id}/consents",
                                headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert consents.json()[0]["granted"] is False
    assert consents.json()[0]["history"][0]["changed_by_role"] == "customer"
    regranted = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                                 json={"granted": True},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert regranted.json()["granted"] is True
    assert [h["granted"] for h in regranted.json()["history"]] == [False, True]
    assert (await client.get(f"/v1/customers/{customer_id}", headers=notify)).status_code == 200


async def test_storefront_session_verification_is_recorded(client, auth, token, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    minted = token(Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id)
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "correction",
                                                    "changes": {"name": "Signed In"}},
                              headers={"Authorization": f"Bearer {minted}", "X-Purpose": "service"})
    assert filed.json()["verified_by"] == "storefront_session"
    assert filed.json()["state"] == "completed"
    stored = await session.scalar(select(Customer).where(Customer.id == customer_id))
    assert stored.erased_at is None


async def test_filing_again_after_the_code_expired_starts_a_new_request(
        client, auth, app, session, inspection_engine):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    first = (await _file(client, auth, customer_id, "access")).json()["id"]
    async with inspection_engine.begin() as connection:
        await connection.execute(update(PrivacyRequest).where(PrivacyRequest.id == first)
                                 .values(code_expires_at=utcnow() - timedelta(seconds=1)))
        await connection.execute(update(VerificationGuard).values(
            code_sent_at=utcnow() - timedelta(minutes=10)))
    again = await _file(client, auth, customer_id, "access")
    assert again.status_code == 201
    assert again.json()["id"] != first
    old = await client.get(f"/v1/requests/{first}",
                           headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert old.json()["state"] == "rejected"


async def test_deletion_closes_the_customers_other_open_requests(client, auth, token, app,
                                                                 session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    pending = (await _file(client, auth, customer_id, "access")).json()["id"]
    code = await _code(session, app.state.keys, pending)
    signed_in = {"Authorization": "Bearer " + token(Role.STOREFRONT, "storefront-1",
                                                    signed_in_customer=customer_id),
                 "X-Purpose": "service"}
    deleted = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                      "type": "deletion"}, headers=signed_in)
    assert deleted.json()["state"] == "completed"
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    closed = await client.get(f"/v1/requests/{pending}", headers=officer)
    assert closed.json()["state"] == "rejected"
    late = await client.post(f"/v1/requests/{pending}/verify", json={"code": code},
                             headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert late.status_code == 409
    unsent = (await session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.sent_at.is_(None)))).all()
    assert unsent == ["request_outcome"]  # the deletion notice only; the old code mail is gone


async def test_only_the_customer_grants_consent_staff_may_withdraw(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    url = f"/v1/customers/{customer_id}/consents/notifications"
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    withdrawn = await client.put(url, json={"granted": False}, headers=agent)
    assert withdrawn.status_code == 200
    regrant = await client.put(url, json={"granted": True}, headers=agent)
    assert regrant.status_code == 403
    assert regrant.json()["code"] == "consent_grant_needs_customer"
    mine = await client.put(url, json={"granted": True},
                            headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert mine.status_code == 200
