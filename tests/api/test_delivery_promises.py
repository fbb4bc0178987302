"""Orders carry their promised ship-by date and delivery window; late shipments are listed for
staff; customers hear of shipping and delivery only while they consent to notifications."""

from datetime import timedelta

from sqlalchemy import select

from app.core.db import utcnow
from app.orders.models import Order
from app.outbox.models import OutboxMessage
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_order

SERVICE = {"X-Purpose": "service"}


async def new_order(client, auth, **overrides) -> tuple[str, str]:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    return customer_id, await create_order(client, headers=storefront, customer_id=customer_id,
                                           address_id=address_id, **overrides)


async def fulfil(client, auth, number: str, status: str):
    response = await client.post(f"/v1/orders/{number}/fulfilment", json={"status": status},
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 200, response.text


async def updates_for(session, customer_id: str) -> list[OutboxMessage]:
    return list((await session.scalars(select(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id,
        OutboxMessage.kind == "logistics_update"))).all())


async def test_an_order_shows_its_promises_to_service_self_and_delivery(client, auth, app,
                                                                        session):
    customer_id, number = await new_order(client, auth)
    calendar = app.state.request_rules.calendar
    stored = await session.scalar(select(Order).where(Order.order_number == number))
    assert stored.ship_by == calendar.due_at(stored.placed_at, 3)
    assert stored.deliver_from == calendar.due_at(stored.ship_by, 12)
    assert stored.deliver_by == calendar.due_at(stored.ship_by, 15)
    views = [
        await client.get(f"/v1/orders/{number}", headers=auth(Role.SUPPORT_AGENT, **{
            "purpose": "service"})),
        await client.get(f"/v1/orders/{number}", headers=auth(
            Role.CUSTOMER, sub=customer_id, purpose="self")),
        await client.get(f"/v1/orders/{number}", headers=auth(
            Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")),
    ]
    for view in views:
        assert view.status_code == 200, view.text
        assert {"ship_by", "deliver_from", "deliver_by"} <= set(view.json())
    payment = await client.get(f"/v1/orders/{number}", headers=auth(
        Role.PAYMENT_PARTNER, partner_id="paypal", purpose="payment"))
    assert "ship_by" not in payment.json()


async def test_shipping_sets_the_window_from_the_shipping_day(client, auth, app, session):
    _, number = await new_order(client, auth)
    await fulfil(client, auth, number, "shipped")
    stored = await session.scalar(select(Order).where(Order.order_number == number))
    calendar = app.state.request_rules.calendar
    assert stored.deliver_from == calendar.due_at(stored.shipped_at, 12)
    assert stored.deliver_by == calendar.due_at(stored.shipped_at, 15)


async def test_late_shipments_are_listed_for_staff(client, auth):
    _, late = await new_order(client, auth,
                              placed_at=(utcnow() - timedelta(days=30)).isoformat())
    _, fresh = await new_order(client, auth)
    _, shipped = await new_order(client, auth,
                                 placed_at=(utcnow() - timedelta(days=30)).isoformat())
    await fulfil(client, auth, shipped, "shipped")
    response = await client.get("/v1/orders/late",
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert response.status_code == 200, response.text
    numbers = [o["order_number"] for o in response.json()["items"]]
    assert numbers == [late]
    assert response.json()["items"][0]["ship_by"]
    carrier = await client.get("/v1/orders/late", headers=auth(
        Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery"))
    assert carrier.status_code == 403 and carrier.json()["code"] == "role_not_permitted"
    assert fresh not in numbers


async def test_customer_hears_of_shipping_and_delivery(client, auth, session, deliver_mail):
    customer_id, number = await new_order(client, auth)
    await fulfil(client, auth, number, "shipped")
    await fulfil(client, auth, number, "delivered")
    assert len(await updates_for(session, customer_id)) == 2
    assert (await deliver_mail()).sent >= 2


async def test_no_update_after_notifications_are_withdrawn(client, auth, session):
    customer_id, number = await new_order(client, auth)
    await fulfil(client, auth, number, "shipped")
    withdrawn = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                                 json={"granted": False},
                                 headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert withdrawn.status_code == 200, withdrawn.text
    await fulfil(client, auth, number, "delivered")
    sent = await updates_for(session, customer_id)
    assert len(sent) == 1  # the shipping update only, from before the withdrawal


async def test_cancellation_sends_no_logistics_update(client, auth, session):
    customer_id, number = await new_order(client, auth)
    await fulfil(client, auth, number, "cancelled")
    assert await updates_for(session, customer_id) == []
