"""De-identified analytics: aggregates only, groups below k suppressed, audited, and only
for the analyst's optimisation purpose."""

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.orders.models import Order
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_order
from tests.retention_world import delivered_order

K = 10


async def _shop(client, auth, *, city: str, customers: int, orders_each: int = 1,
                method: str = "paypal", delivered: bool = False) -> list[str]:
    storefront = auth(Role.STOREFRONT)
    ids = []
    for _ in range(customers):
        customer_id = await create_customer(client, headers=storefront)
        address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                          city=city)
        for _ in range(orders_each):
            if delivered:
                await delivered_order(client, storefront, customer_id, address_id)
            else:
                await create_order(client, headers=storefront, customer_id=customer_id,
                                   address_id=address_id, payment_method=method)
        ids.append(customer_id)
    return ids


def _analyst(auth):
    return auth(Role.ANALYST, sub="analyst-1", purpose="optimisation")


async def test_groups_below_k_customers_are_suppressed(client, auth, session):
    """A city of 10 customers shows; one customer with 12 orders, or 3 customers, does not."""
    shenzhen = await _shop(client, auth, city="Shenzhen", customers=K, delivered=True)
    await client.post("/v1/complaints", json={"customer_id": shenzhen[0], "body": "Late"},
                      headers=auth(Role.STOREFRONT))
    await _shop(client, auth, city="Berlin", customers=3)
    await _shop(client, auth, city="Lyon", customers=1, orders_each=K + 2)

    answer = await client.get("/v1/analytics/orders?group_by=city,payment_method",
                              headers=_analyst(auth))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["min_group"] == K and body["group_by"] == ["city", "payment_method"]
    assert body["groups"] == [{
        "city": "Shenzhen", "payment_method": "paypal", "currency": "EUR", "orders": K,
        "total_amount": "90.00", "average_delivery_days": body["groups"][0][
            "average_delivery_days"], "complaints": 1}]
    assert 0 <= body["groups"][0]["average_delivery_days"] < 1
    assert set(body["groups"][0]) & {"customer_id", "order_number", "customer_key"} == set()


async def test_no_group_returned_is_smaller_than_k(client, auth, session):
    """Whatever the grouping, every group returned has at least k distinct customers."""
    await _shop(client, auth, city="Shenzhen", customers=K + 1)
    await _shop(client, auth, city="Hangzhou", customers=K - 1)
    for group_by in ("week", "city", "country", "state,city", "week,country,state,city,"
                     "payment_method", "payment_method"):
        groups = (await client.get(f"/v1/analytics/orders?group_by={group_by}",
                                   headers=_analyst(auth))).json()["groups"]
        assert groups, group_by
        for group in groups:
            where = [getattr(Order, f"ship_{name}" if name in ("country", "state", "city")
                             else name) == value for name, value in group.items()
                     if name in ("country", "state", "city", "payment_method")]
            customers = await session.scalar(select(
                func.count(Order.customer_id.distinct())).where(*where))
            assert customers >= K and group["orders"] >= K, (group_by, group)
        assert all(g.get("city") != "Hangzhou" for g in groups)


async def test_aggregates_are_audited_as_one_read_with_no_subject(client, auth, session):
    await _shop(client, auth, city="Shenzhen", customers=2)
    answer = await client.get("/v1/analytics/orders?group_by=week,country",
                              headers=_analyst(auth))
    assert answer.status_code == 200 and answer.json()["groups"] == []
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.resource == "analytics"))).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_id, entry.actor_role, entry.purpose, entry.action, entry.subject_id) == (
        "analyst-1", "analyst", "optimisation", "read", None)
    assert {"week", "country", "orders", "total_amount"} <= set(entry.fields)


async def test_only_the_analyst_for_optimisation(client, auth):
    url = "/v1/analytics/orders?group_by=week"
    assert (await client.get(url, headers=auth(Role.ANALYST))).json()["code"] == \
        "purpose_required"
    for role, purpose in ((Role.FRAUD_ANALYST, "fraud"), (Role.FRAUD_ANALYST, "optimisation"),
                          (Role.SUPPORT_AGENT, "service"), (Role.PRIVACY_OFFICER, "oversight")):
        refused = await client.get(url, headers=auth(role, purpose=purpose))
        assert refused.status_code == 403, (role, purpose, refused.text)
    bad = await client.get("/v1/analytics/orders?group_by=email", headers=_analyst(auth))
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_dimension"


async def test_the_analyst_never_reads_one_row_per_person(client, auth):
    """Optimisation covers aggregates only: every personal read is refused."""
    customer_id = (await _shop(client, auth, city="Shenzhen", customers=1))[0]
    for url in (f"/v1/customers/{customer_id}", f"/v1/customers/{customer_id}/addresses",
                f"/v1/customers/{customer_id}/messages", "/v1/complaints", "/v1/requests",
                "/v1/holds"):
        refused = await client.get(url, headers=_analyst(auth))
        assert refused.status_code == 403, (url, refused.text)
        assert refused.json()["code"] in ("purpose_not_permitted", "role_not_permitted")
