"""Deletions and corrections reach the partners holding undelivered shipments, by signed
webhook; the request's outcome names who was told and who confirmed."""

import json

import httpx
from sqlalchemy import select

from app.core.db import utcnow
from app.partners.dispatcher import deliver_webhooks
from app.partners.models import PartnerWebhook
from app.partners.signing import HEADER, verify_signature
from app.policy.roles import Role
from tests.factories import PARTNER_SECRET, create_address, create_customer, create_order


async def customer_with_shipments(client, auth) -> tuple[str, dict[str, str]]:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    numbers = {}
    for partner in ("swiftship", "fastfreight", "othership"):
        numbers[partner] = await create_order(client, headers=storefront,
                                              customer_id=customer_id, address_id=address_id,
                                              logistics_partner_id=partner)
    await client.post(f"/v1/orders/{numbers['fastfreight']}/fulfilment",
                      json={"status": "shipped"}, headers=storefront)
    for status in ("shipped", "delivered"):
        await client.post(f"/v1/orders/{numbers['othership']}/fulfilment",
                          json={"status": status}, headers=storefront)
    return customer_id, numbers


async def file(client, token, customer_id: str, body: dict) -> dict:
    signed_in = {"Authorization": "Bearer " + token(
        Role.STOREFRONT, "storefront-1", signed_in_customer=customer_id), "X-Purpose": "service"}
    response = await client.post("/v1/requests", json={"customer_id": customer_id, **body},
                                 headers=signed_in)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "completed"
    return response.json()


async def notices(session, event: str) -> list[PartnerWebhook]:
    return list((await session.scalars(select(PartnerWebhook).where(
        PartnerWebhook.event == event).order_by(PartnerWebhook.partner_id))).all())


async def test_deletion_tells_the_carriers_holding_shipments(client, auth, token, app,
                                                             session):
    customer_id, numbers = await customer_with_shipments(client, auth)
    request = await file(client, token, customer_id, {"type": "deletion"})
    assert request["outcome"]["partners"] == {"told": ["fastfreight", "swiftship"],
                                              "confirmed": []}
    erased = await notices(session, "customer.erased")
    assert [(n.partner_id, n.order_numbers) for n in erased] == [
        ("fastfreight", [numbers["fastfreight"]]), ("swiftship", [numbers["swiftship"]])]

    received: list[httpx.Request] = []

    def partner(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(partner)) as http:
        report = await deliver_webhooks(app.state.sessions, app.state.keys, http,
                                        max_attempts=3)
    assert report.sent == 3  # the two notices and the destruction request of the delivered one
    erasures = [r for r in received if r.headers["X-Privacy-Event"] == "customer.erased"]
    assert sorted(r.url.host for r in erasures) == ["fastfreight.example", "swiftship.example"]
    for sent in erasures:
        assert verify_signature(PARTNER_SECRET, sent.headers[HEADER], sent.content,
                                now=utcnow().timestamp(), window=300)
        body = json.loads(sent.content)
        assert body["event"] == "customer.erased"
        assert body["confirm"]["path"] == f"/v1/partners/notices/{body['id']}/confirm"

    swift = next(n for n in erased if n.partner_id == "swiftship")
    other = await client.post(f"/v1/partners/notices/{swift.id}/confirm",
                              headers=auth(Role.LOGISTICS_PARTNER, partner_id="fastfreight"))
    assert other.status_code == 404
    confirmed = await client.post(f"/v1/partners/notices/{swift.id}/confirm",
                                  headers=auth(Role.LOGISTICS_PARTNER, partner_id="swiftship"))
    assert confirmed.status_code == 200, confirmed.text
    again = await client.post(f"/v1/partners/notices/{swift.id}/confirm",
                              headers=auth(Role.LOGISTICS_PARTNER, partner_id="swiftship"))
    assert again.json()["confirmed_at"] == confirmed.json()["confirmed_at"]
    read = await client.get(f"/v1/requests/{request['id']}",
                            headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"))
    assert read.json()["outcome"]["partners"] == {"told": ["fastfreight", "swiftship"],
                                                  "confirmed": ["swiftship"]}


async def test_correction_tells_the_carriers_too(client, auth, token, session):
    customer_id, numbers = await customer_with_shipments(client, auth)
    request = await file(client, token, customer_id,
                         {"type": "correction", "changes": {"phone": "+8613900139000"}})
    assert request["outcome"]["corrected"] == ["phone"]
    assert request["outcome"]["partners"]["told"] == ["fastfreight", "swiftship"]
    corrected = await notices(session, "customer.corrected")
    assert {n.partner_id for n in corrected} == {"fastfreight", "swiftship"}
    assert all(n.request_id == request["id"] for n in corrected)


async def test_no_shipments_on_their_way_tells_no_partner(client, auth, token, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    request = await file(client, token, customer_id, {"type": "deletion"})
    assert "partners" not in request["outcome"]
    assert await notices(session, "customer.erased") == []


async def test_a_destruction_request_is_not_confirmed_as_a_notice(client, auth, session):
    customer_id, _ = await customer_with_shipments(client, auth)
    destroy = (await notices(session, "shipment.destroy"))[0]
    response = await client.post(f"/v1/partners/notices/{destroy.id}/confirm",
                                 headers=auth(Role.LOGISTICS_PARTNER, partner_id="othership"))
    assert response.status_code == 404 and response.json()["code"] == "notice_not_found"
