"""The partner registry: registration with a one-time secret, activity, suspension, and what
partner tokens and orders may name."""

from datetime import date, timedelta

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.partners.models import Partner, PartnerKind
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_order, partner_row

OFFICER = Role.PRIVACY_OFFICER


def partner_body(**overrides) -> dict:
    return {"id": "quickparcel", "kind": "logistics", "display_name": "QuickParcel GmbH",
            "agreement_reference": "DPA-2026-031", "agreement_starts_on": "2026-01-01",
            "agreement_ends_on": "2099-12-31", "webhook_url": "https://quickparcel.example/h",
            **overrides}


async def register(client, auth, **overrides):
    return await client.post("/v1/partners", json=partner_body(**overrides),
                             headers=auth(OFFICER))


async def placed_order(client, auth, **overrides) -> tuple[str, str]:
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id, **overrides)
    return customer_id, number


async def test_officer_registers_a_partner_and_sees_the_secret_once(client, auth, session):
    response = await register(client, auth)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["signing_secret"].startswith("whsec_")
    assert created["active"] is True and created["kind"] == "logistics"
    read = await client.get("/v1/partners/quickparcel", headers=auth(OFFICER))
    assert read.status_code == 200
    assert "signing_secret" not in read.json()
    stored = await session.get(Partner, "quickparcel")
    assert created["signing_secret"] not in stored.secret_enc
    listed = await client.get("/v1/partners?kind=logistics", headers=auth(OFFICER))
    assert "quickparcel" in [p["id"] for p in listed.json()["items"]]
    assert "paypal" not in [p["id"] for p in listed.json()["items"]]
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.resource == "partner"))
    assert entry.action == "create" and entry.resource_id == "quickparcel"


async def test_registry_is_for_the_privacy_officer_only(client, auth):
    for role in (Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER):
        response = await client.post("/v1/partners", json=partner_body(), headers=auth(role))
        assert response.status_code == 403
        assert response.json()["code"] == "role_not_permitted"


async def test_a_taken_id_and_reversed_dates_are_refused(client, auth):
    assert (await register(client, auth, id="swiftship")).json()["code"] == "partner_exists"
    reversed_dates = await register(client, auth, agreement_starts_on="2027-01-01",
                                    agreement_ends_on="2026-01-01")
    assert reversed_dates.status_code == 422


async def test_rotation_issues_a_new_secret_and_keeps_the_old_for_the_grace(client, auth, app):
    first = (await register(client, auth)).json()["signing_secret"]
    response = await client.post("/v1/partners/quickparcel/secret", headers=auth(OFFICER))
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["signing_secret"] not in (first, None)
    grace = timedelta(hours=app.state.settings.partner_secret_grace_hours)
    until = date.fromisoformat(rotated["previous_secret_until"][:10])
    assert until == (utcnow() + grace).date()


async def test_orders_name_only_active_partners_of_the_right_kind(client, auth):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    base = {"order_number": "HG-2026-800001", "customer_id": customer_id,
            "shipping_address_id": address_id, "total_amount": "9.00", "currency": "EUR",
            "items": [{"product_name": "Bike bell", "quantity": 1, "unit_price": "9.00"}],
            "payment_method": "visa"}
    cases = [({"logistics_partner_id": "made-up-carrier"}, "partner_not_active"),
             ({"logistics_partner_id": "paypal"}, "partner_kind_mismatch"),
             ({"payment_partner_id": "swiftship"}, "partner_kind_mismatch")]
    for extra, code in cases:
        response = await client.post("/v1/orders", json={**base, **extra}, headers=storefront)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
    await client.post("/v1/partners/swiftship/suspension", headers=auth(OFFICER))
    suspended = await client.post("/v1/orders", json={**base, "logistics_partner_id": "swiftship"},
                                  headers=storefront)
    assert suspended.json()["code"] == "partner_not_active"


async def test_unregistered_partner_token_is_refused_on_every_route(client, auth):
    customer_id, number = await placed_order(client, auth)
    ghost = auth(Role.LOGISTICS_PARTNER, partner_id="ghost-carrier", purpose="delivery")
    responses = [
        await client.get(f"/v1/orders/{number}", headers=ghost),
        await client.get("/v1/orders", headers=ghost),
        await client.post(f"/v1/orders/{number}/fulfilment", json={"status": "shipped"},
                          headers=ghost),
        await client.get(f"/v1/customers/{customer_id}/addresses", headers=ghost),
        await client.get("/v1/partners", headers=ghost),
    ]
    assert [r.status_code for r in responses] == [403] * 5
    assert {r.json()["code"] for r in responses} == {"partner_not_active"}


async def test_a_token_of_the_wrong_kind_is_refused(client, auth):
    _, number = await placed_order(client, auth)
    response = await client.get(f"/v1/orders/{number}", headers=auth(
        Role.LOGISTICS_PARTNER, partner_id="paypal", purpose="delivery"))
    assert response.json()["code"] == "partner_not_active"


async def test_suspension_cuts_a_carrier_off_at_once(client, auth, session):
    customer_id, number = await placed_order(client, auth)
    carrier = auth(Role.LOGISTICS_PARTNER, partner_id="swiftship", purpose="delivery")
    assert (await client.get(f"/v1/orders/{number}", headers=carrier)).status_code == 200
    suspended = await client.post("/v1/partners/swiftship/suspension", headers=auth(OFFICER))
    assert suspended.json()["active"] is False and suspended.json()["suspended_at"]
    after = await client.get(f"/v1/orders/{number}", headers=carrier)
    assert after.status_code == 403 and after.json()["code"] == "partner_not_active"


async def test_partner_outside_its_agreement_dates_is_not_active(client, auth, app):
    yesterday = utcnow().date() - timedelta(days=1)
    async with app.state.sessions() as db, db.begin():
        db.add(partner_row(app.state.keys, partner_id="expired", kind=PartnerKind.LOGISTICS,
                           agreement_ends_on=yesterday))
        db.add(partner_row(app.state.keys, partner_id="future", kind=PartnerKind.LOGISTICS,
                           agreement_starts_on=yesterday + timedelta(days=30)))
    for partner_id in ("expired", "future"):
        response = await client.get("/v1/orders", headers=auth(
            Role.LOGISTICS_PARTNER, partner_id=partner_id, purpose="delivery"))
        assert response.json()["code"] == "partner_not_active"
    read = await client.get("/v1/partners/expired", headers=auth(OFFICER))
    assert read.json()["active"] is False


async def test_customer_access_log_names_the_partner_that_read(client, auth):
    customer_id, number = await placed_order(client, auth)
    carrier = auth(Role.LOGISTICS_PARTNER, sub="driver-9", partner_id="swiftship",
                   purpose="delivery")
    assert (await client.get(f"/v1/orders/{number}", headers=carrier)).status_code == 200
    log = await client.get(f"/v1/customers/{customer_id}/access-log",
                           headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert log.status_code == 200, log.text
    reads = [e for e in log.json()["items"]
             if e["action"] == "read" and e["actor_role"] == "logistics_partner"]
    assert reads and reads[0]["actor_id"] == "swiftship"
    assert reads[0]["purpose"] == "delivery" and "shipping_address" in reads[0]["fields"]


async def test_a_suspended_payment_partner_cannot_post_payment_status(client, auth):
    _, number = await placed_order(client, auth)
    payer = auth(Role.PAYMENT_PARTNER, partner_id="paypal")
    url = f"/v1/orders/{number}/payment-status"
    assert (await client.put(url, json={"status": "authorized"}, headers=payer)).status_code == 200
    await client.post("/v1/partners/paypal/suspension", headers=auth(OFFICER))
    refused = await client.put(url, json={"status": "paid"}, headers=payer)
    assert refused.status_code == 403 and refused.json()["code"] == "partner_not_active"
