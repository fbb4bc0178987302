"""Signed destruction requests to carriers: signatures, retries against a fake partner that
fails then recovers, nothing sent twice, confirmations and the officer's unconfirmed list."""

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from app.core.db import utcnow
from app.partners.dispatcher import deliver_webhooks
from app.partners.models import PartnerWebhook
from app.partners.signing import HEADER, sign, verify_signature
from app.policy.roles import Role
from tests.factories import PARTNER_SECRET, create_address, create_customer, create_order

WINDOW = 300


class FakePartner:
    """A partner endpoint answering with the given statuses, then 200."""

    def __init__(self, *failures: int | type[Exception]) -> None:
        self.failures = list(failures)
        self.received: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, int):
                return httpx.Response(failure)
            raise failure("partner unreachable", request=request)
        return httpx.Response(200, json={"ok": True})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


class Clock:
    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self):
        return self.at


async def delivered_order(client, auth, status: str = "delivered") -> str:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id)
    if status == "delivered":
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "shipped"},
                          headers=storefront)
    response = await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                                 headers=storefront)
    assert response.status_code == 200, response.text
    return number


def test_signature_checks_secret_body_and_window():
    body = b'{"id":"n1"}'
    header = sign(["s3cret"], body, 1_700_000_000)
    assert verify_signature("s3cret", header, body, now=1_700_000_100, window=WINDOW)
    assert not verify_signature("other", header, body, now=1_700_000_100, window=WINDOW)
    assert not verify_signature("s3cret", header, body + b" ", now=1_700_000_100, window=WINDOW)
    assert not verify_signature("s3cret", header, body, now=1_700_000_301, window=WINDOW)
    assert not verify_signature("s3cret", "v1=" + header.split("v1=")[1], body,
                                now=1_700_000_000, window=WINDOW)
    both = sign(["new", "old"], body, 1_700_000_000)
    assert verify_signature(["old"], both, body, now=1_700_000_000, window=WINDOW)


async def test_delivery_sends_a_signed_destruction_request(client, auth, app, session):
    number = await delivered_order(client, auth)
    gone = await client.get(f"/v1/orders/{number}", headers=auth(
        Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery"))
    assert gone.status_code == 410
    partner = FakePartner()
    async with partner.client() as http:
        report = await deliver_webhooks(app.state.sessions, app.state.keys, http,
                                        max_attempts=5)
    assert report.sent == 1 and len(partner.received) == 1
    request = partner.received[0]
    assert str(request.url) == "https://swiftship.example/hooks"
    assert verify_signature(PARTNER_SECRET, request.headers[HEADER], request.content,
                            now=utcnow().timestamp(), window=WINDOW)
    body = json.loads(request.content)
    assert body["event"] == "shipment.destroy" and body["order_numbers"] == [number]
    assert body["confirm"]["path"] == f"/v1/orders/{number}/destruction"
    stored = await session.scalar(select(PartnerWebhook))
    assert stored.sent_at is not None and stored.confirmed_at is None


async def test_cancellation_also_asks_for_destruction(client, auth, session):
    number = await delivered_order(client, auth, status="cancelled")
    stored = await session.scalar(select(PartnerWebhook))
    assert stored.order_number == number and stored.partner_id == "swiftship"


async def test_a_failing_partner_is_retried_with_backoff_and_never_sent_twice(client, auth,
                                                                              app, session):
    await delivered_order(client, auth)
    partner, clock = FakePartner(500, httpx.ConnectError), Clock()
    async with partner.client() as http:
        async def run():
            return await deliver_webhooks(app.state.sessions, app.state.keys, http,
                                          max_attempts=5, now=clock)

        first = await run()
        assert (first.sent, first.retried) == (0, 1)
        assert (await run()).retried == 0 and len(partner.received) == 1  # not due yet
        clock.at += timedelta(seconds=3)
        assert (await run()).retried == 1 and len(partner.received) == 2
        clock.at += timedelta(seconds=5)
        assert (await run()).sent == 1 and len(partner.received) == 3
        clock.at += timedelta(hours=2)
        again = await run()
    assert (again.sent, again.retried) == (0, 0) and len(partner.received) == 3
    ids = {json.loads(r.content)["id"] for r in partner.received}
    assert len(ids) == 1
    stored = await session.scalar(select(PartnerWebhook))
    assert stored.attempts == 2 and stored.sent_at is not None


async def test_a_partner_failing_for_ever_is_given_up(client, auth, app, session):
    await delivered_order(client, auth)
    partner, clock = FakePartner(503, 503, 503), Clock()
    async with partner.client() as http:
        for _ in range(3):
            await deliver_webhooks(app.state.sessions, app.state.keys, http, max_attempts=3,
                                   now=clock)
            clock.at += timedelta(hours=1)
    stored = await session.scalar(select(PartnerWebhook))
    assert stored.failed_at is not None and stored.last_error == "HTTP 503"
    assert len(partner.received) == 3


async def test_after_rotation_both_secrets_sign_during_the_grace(client, auth, app):
    rotated = await client.post("/v1/partners/swiftship/secret",
                                headers=auth(Role.PRIVACY_OFFICER))
    new_secret = rotated.json()["signing_secret"]
    await delivered_order(client, auth)
    partner = FakePartner()
    async with partner.client() as http:
        await deliver_webhooks(app.state.sessions, app.state.keys, http, max_attempts=5)
    request = partner.received[0]
    for secret in (new_secret, PARTNER_SECRET):
        assert verify_signature(secret, request.headers[HEADER], request.content,
                                now=utcnow().timestamp(), window=WINDOW)


async def test_confirmation_is_recorded_and_unconfirmed_ones_are_listed(client, auth, app,
                                                                        session):
    confirmed, forgotten = await delivered_order(client, auth), await delivered_order(client, auth)
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship")
    response = await client.post(f"/v1/orders/{confirmed}/destruction", headers=carrier)
    assert response.status_code == 200, response.text
    days = app.state.settings.destruction_confirm_days
    async with app.state.sessions() as db, db.begin():
        await db.execute(update(PartnerWebhook).values(
            created_at=utcnow() - timedelta(days=days + 1)))
    officer = auth(Role.PRIVACY_OFFICER)
    listed = await client.get("/v1/partners/destructions?unconfirmed=true", headers=officer)
    assert listed.status_code == 200, listed.text
    assert [d["order_number"] for d in listed.json()["items"]] == [forgotten]
    every = await client.get("/v1/partners/destructions", headers=officer)
    by_number = {d["order_number"]: d for d in every.json()["items"]}
    assert by_number[confirmed]["confirmed_at"] and by_number[forgotten]["confirmed_at"] is None
    assert set(listed.json()["items"][0]) == {"id", "partner_id", "order_number",
                                              "requested_at", "sent_at", "attempts",
                                              "confirmed_at"}


@pytest.mark.parametrize("role", [Role.SUPPORT_AGENT, Role.STOREFRONT])
async def test_destruction_list_is_for_the_officer(client, auth, role):
    response = await client.get("/v1/partners/destructions", headers=auth(role))
    assert response.status_code == 403


async def test_fresh_unconfirmed_destructions_are_not_yet_listed(client, auth):
    await delivered_order(client, auth)
    listed = await client.get("/v1/partners/destructions?unconfirmed=true",
                              headers=auth(Role.PRIVACY_OFFICER))
    assert listed.json()["items"] == []


async def test_two_dispatchers_at_once_send_each_notice_once(client, auth, app):
    numbers = [await delivered_order(client, auth) for _ in range(5)]
    partner = FakePartner()
    async with partner.client() as http:
        reports = await asyncio.gather(*(
            deliver_webhooks(app.state.sessions, app.state.keys, http, max_attempts=3, batch=2)
            for _ in range(2)))
    assert sum(r.sent for r in reports) == 5
    received = sorted(json.loads(r.content)["order_numbers"][0] for r in partner.received)
    assert received == sorted(numbers)
