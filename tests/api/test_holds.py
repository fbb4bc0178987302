"""Legal holds: placed, listed and lifted by the privacy officer, audited, and honoured by
deletion requests, whose answer says what was held and why."""

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.policy.roles import Role
from tests.api.test_deletion import _delete
from tests.factories import create_address, create_customer
from tests.retention_world import delivered_order, stored_text


def _officer(auth):
    return auth(Role.PRIVACY_OFFICER, sub="officer-1", purpose="oversight")


async def _customer_with_order(client, auth, *, street: str) -> tuple[str, str]:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                      street=street)
    return customer_id, await delivered_order(client, storefront, customer_id, address_id)


async def test_officer_places_lists_and_lifts_holds_and_each_is_audited(client, auth, session):
    customer_id, number = await _customer_with_order(client, auth, street="Holdfast Row")
    placed = await client.post("/v1/holds", headers=_officer(auth), json={
        "order_number": number, "reason": "Tax audit 2026", "reference": "TA-117",
        "until": "2099-01-01T00:00:00Z"})
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["customer_id"], hold["order_number"], hold["active"]) == (
        customer_id, number, True)
    assert hold["placed_by"] == "officer-1"

    listed = await client.get("/v1/holds?active=true", headers=_officer(auth))
    assert [h["id"] for h in listed.json()["items"]] == [hold["id"]]
    lifted = await client.post(f"/v1/holds/{hold['id']}/lift", headers=_officer(auth))
    assert lifted.status_code == 200
    assert lifted.json()["active"] is False and lifted.json()["lifted_by"] == "officer-1"
    again = await client.post(f"/v1/holds/{hold['id']}/lift", headers=_officer(auth))
    assert again.status_code == 409 and again.json()["code"] == "hold_already_lifted"
    assert (await client.get("/v1/holds?active=true", headers=_officer(auth))
            ).json()["items"] == []
    assert len((await client.get("/v1/holds", headers=_officer(auth))).json()["items"]) == 1

    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.resource == "hold"))).all()
    actions = sorted(e.action for e in entries)
    assert {"place", "lift", "read"} <= set(actions)
    assert all(e.subject_id == customer_id for e in entries)
    assert all("Tax audit" not in str(e.fields) for e in entries)


async def test_only_the_privacy_officer_handles_holds(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    body = {"customer_id": customer_id, "reason": "Court order", "reference": "C-1"}
    for role, purpose in ((Role.SUPPORT_AGENT, "oversight"), (Role.STOREFRONT, "service"),
                          (Role.ANALYST, "optimisation")):
        refused = await client.post("/v1/holds", json=body, headers=auth(role, purpose=purpose))
        assert refused.status_code == 403, (role, refused.text)
    missing = await client.post("/v1/holds", json=body, headers=auth(Role.PRIVACY_OFFICER))
    assert missing.status_code == 400 and missing.json()["code"] == "purpose_required"


async def test_a_hold_names_exactly_one_existing_target(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    both = await client.post("/v1/holds", headers=_officer(auth), json={
        "customer_id": customer_id, "order_number": "HG-1", "reason": "x", "reference": "y"})
    assert both.status_code == 422
    unknown = await client.post("/v1/holds", headers=_officer(auth), json={
        "order_number": "HG-NOPE-1", "reason": "x", "reference": "y"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "hold_target_not_found"
    nobody = await client.post("/v1/holds", headers=_officer(auth), json={
        "customer_id": "no-such-customer", "reason": "x", "reference": "y"})
    assert nobody.status_code == 404


async def test_deletion_of_a_held_customer_erases_nothing_and_says_why(
        client, auth, app, session, deliver_mail):
    customer_id, number = await _customer_with_order(client, auth, street="Keepsake Lane")
    await client.post("/v1/holds", headers=_officer(auth), json={
        "customer_id": customer_id, "reason": "Court order in a fraud case",
        "reference": "CASE-42"})

    done = await _delete(client, auth, customer_id, app, session, deliver_mail)

    assert done.status_code == 200, done.text
    outcome = done.json()["outcome"]
    assert outcome["erased"] == []
    assert outcome["held"] == [{"what": "all your data", "order_number": None,
                                "why": "Court order in a fraud case", "reference": "CASE-42",
                                "until": "until the hold is lifted"}]
    assert "Keepsake Lane" in await stored_text(session, app.state.keys)
    customer = await client.get(f"/v1/customers/{customer_id}",
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert customer.status_code == 200


async def test_deletion_keeps_a_held_order_whole_and_erases_the_rest(
        client, auth, app, session, deliver_mail):
    customer_id, held = await _customer_with_order(client, auth, street="Evidence Street")
    storefront = auth(Role.STOREFRONT)
    other_address = await create_address(client, headers=storefront, customer_id=customer_id,
                                         street="Ordinary Street")
    free = await delivered_order(client, storefront, customer_id, other_address)
    await client.post("/v1/holds", headers=_officer(auth), json={
        "order_number": held, "reason": "Chargeback dispute", "reference": "CB-7"})

    done = await _delete(client, auth, customer_id, app, session, deliver_mail)

    outcome = done.json()["outcome"]
    assert "identity" in outcome["erased"]
    assert [h["order_number"] for h in outcome["held"]] == [held]
    assert outcome["held"][0]["why"] == "Chargeback dispute"
    service = auth(Role.SUPPORT_AGENT, purpose="service")
    kept = (await client.get(f"/v1/orders/{held}", headers=service)).json()
    assert kept["shipping_address"]["street"] == "Evidence Street"
    assert (await client.get(f"/v1/orders/{free}", headers=service)
            ).json()["shipping_address"] is None
    assert "Ordinary Street" not in await stored_text(session, app.state.keys)


async def test_a_retried_placement_with_the_same_key_gives_the_same_hold(client, auth):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    headers = {**_officer(auth), "Idempotency-Key": "hold-retry-1"}
    body = {"customer_id": customer_id, "reason": "Court order", "reference": "C-7"}
    first = await client.post("/v1/holds", json=body, headers=headers)
    again = await client.post("/v1/holds", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = await client.get(f"/v1/holds?customer_id={customer_id}", headers=_officer(auth))
    assert [h["id"] for h in listed.json()["items"]] == [first.json()["id"]]
