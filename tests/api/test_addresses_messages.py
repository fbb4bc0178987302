"""The address book (create, read, list, change, delete) and customer-service messages."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.addresses.models import ShippingAddress
from app.audit.models import AuditEntry
from app.messages.models import Message
from app.policy.purposes import RESOURCE_FIELDS, Resource
from app.policy.roles import Role
from tests.factories import (
    address_payload,
    create_address,
    create_customer,
    create_message,
    create_order,
)

ADDRESS_VIEW = set(RESOURCE_FIELDS[Resource.ADDRESS])
MESSAGE_VIEW = set(RESOURCE_FIELDS[Resource.MESSAGE])
CARD = "4111 1111 1111 1111"


@pytest.fixture
async def customer_id(client, auth) -> str:
    return await create_customer(client, headers=auth(Role.STOREFRONT))


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def addresses_url(customer_id: str, address_id: str | None = None) -> str:
    url = f"/v1/customers/{customer_id}/addresses"
    return f"{url}/{address_id}" if address_id else url


def support(auth) -> dict:
    return auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service")


def myself(auth, customer_id: str) -> dict:
    return auth(Role.CUSTOMER, sub=customer_id, purpose="self")


async def audit_actions(session, resource: str) -> list[tuple[str, str, list[str]]]:
    rows = (await session.scalars(select(AuditEntry).where(AuditEntry.resource == resource)
                                  .order_by(AuditEntry.occurred_at))).all()
    return [(e.action, e.actor_role, e.fields) for e in rows]


# Addresses

async def test_address_is_created_and_read_for_service_and_self(client, auth, session,
                                                               customer_id):
    payload = address_payload(phone="+86 138 0013 8000", country="cn")
    created = await client.post(addresses_url(customer_id), json=payload,
                                headers=auth(Role.STOREFRONT))
    assert created.status_code == 201, created.text
    receipt = created.json()
    assert set(receipt) == {"id", "fields", "at"}
    assert receipt["fields"] == sorted(payload)
    expected = {**payload, "phone": "+8613800138000", "country": "CN"}

    for headers in (support(auth), myself(auth, customer_id)):
        read = await client.get(addresses_url(customer_id, receipt["id"]), headers=headers)
        assert read.status_code == 200
        body = read.json()
        assert set(body) == ADDRESS_VIEW
        assert {k: body[k] for k in payload} == expected
        assert (body["id"], body["customer_id"]) == (receipt["id"], customer_id)

    stored = await session.scalar(select(ShippingAddress))
    for column in ("recipient_name_enc", "street_enc", "house_number_enc", "postal_code_enc",
                   "phone_enc"):
        assert payload["street"] not in getattr(stored, column)
        assert payload["recipient_name"] not in getattr(stored, column)
        assert "518057" not in getattr(stored, column)
    assert await audit_actions(session, "address") == [
        ("create", "storefront", sorted(payload)),
        ("read", "support_agent", list(RESOURCE_FIELDS[Resource.ADDRESS])),
        ("read", "customer", list(RESOURCE_FIELDS[Resource.ADDRESS])),
    ]


async def test_optional_address_parts_may_be_left_out(client, auth, customer_id):
    payload = {"recipient_name": "Mei Lin", "country": "SG", "city": "Singapore",
               "street": "Orchard Road", "house_number": "2"}
    address_id = (await client.post(addresses_url(customer_id), json=payload,
                                    headers=auth(Role.STOREFRONT))).json()["id"]
    body = (await client.get(addresses_url(customer_id, address_id), headers=support(auth))
            ).json()
    assert (body["phone"], body["state"], body["postal_code"]) == (None, None, None)


async def test_address_list_pages_oldest_first(client, auth, customer_id):
    storefront = auth(Role.STOREFRONT)
    ids = [await create_address(client, headers=storefront, customer_id=customer_id,
                                house_number=str(n)) for n in range(3)]
    first = await client.get(addresses_url(customer_id), params={"limit": 2},
                             headers=support(auth))
    assert [a["id"] for a in first.json()["items"]] == ids[:2]
    assert all(set(a) == ADDRESS_VIEW for a in first.json()["items"])
    second = await client.get(addresses_url(customer_id),
                              params={"limit": 2, "cursor": first.json()["next_cursor"]},
                              headers=support(auth))
    assert second.json() == {"items": [second.json()["items"][0]], "next_cursor": None}
    assert second.json()["items"][0]["id"] == ids[2]


@pytest.mark.parametrize("editor", [Role.SUPPORT_AGENT, Role.CUSTOMER, Role.STOREFRONT])
async def test_address_is_changed(client, auth, session, customer_id, editor):
    address_id = await create_address(client, headers=auth(Role.STOREFRONT),
                                      customer_id=customer_id)
    response = await client.patch(addresses_url(customer_id, address_id),
                                  json={"house_number": "20", "state": None},
                                  headers=auth(editor, sub=customer_id))
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == ["house_number", "state"]
    body = (await client.get(addresses_url(customer_id, address_id), headers=support(auth))
            ).json()
    assert (body["house_number"], body["state"], body["street"]) == ("20", None, "Keyuan Road")
    assert moment(body["updated_at"]) > moment(body["created_at"])
    update = await session.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert (update.actor_role, update.fields) == (editor.value, ["house_number", "state"])
    assert "20" not in update.fields


@pytest.mark.parametrize("body", [{}, {"street": None}, {"country": "XX"}, {"zip": "1"},
                                  {"house_number": CARD}])
async def test_bad_address_changes_are_422(client, auth, customer_id, body):
    address_id = await create_address(client, headers=auth(Role.STOREFRONT),
                                      customer_id=customer_id)
    response = await client.patch(addresses_url(customer_id, address_id), json=body,
                                  headers=support(auth))
    assert response.status_code == 422
    read = await client.get(addresses_url(customer_id, address_id), headers=support(auth))
    assert {k: read.json()[k] for k in address_payload()} == address_payload()


async def test_address_is_deleted_then_gone(client, auth, session, customer_id):
    address_id = await create_address(client, headers=auth(Role.STOREFRONT),
                                      customer_id=customer_id)
    me = myself(auth, customer_id)
    deleted = await client.delete(addresses_url(customer_id, address_id), headers=me)
    assert deleted.status_code == 204
    assert deleted.content == b""
    for method in ("get", "delete"):
        again = await client.request(method, addresses_url(customer_id, address_id), headers=me)
        assert again.status_code == 404
        assert again.json()["code"] == "address_not_found"
    patched = await client.patch(addresses_url(customer_id, address_id),
                                 json={"house_number": "1"}, headers=me)
    assert patched.status_code == 404
    listed = await client.get(addresses_url(customer_id), headers=me)
    assert listed.json() == {"items": [], "next_cursor": None}
    assert await session.scalar(select(func.count()).select_from(ShippingAddress)) == 0
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
    assert (entry.subject_id, entry.resource_id, entry.actor_role) == (customer_id, address_id,
                                                                       "customer")


async def test_deleting_an_address_keeps_the_orders_copy(client, auth, customer_id):
    storefront = auth(Role.STOREFRONT)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id)
    deleted = await client.delete(addresses_url(customer_id, address_id), headers=storefront)
    assert deleted.status_code == 204
    order = await client.get(f"/v1/orders/{number}", headers=support(auth))
    assert order.json()["shipping_address"] == address_payload()


async def test_changing_an_address_does_not_change_placed_orders(client, auth, customer_id):
    storefront = auth(Role.STOREFRONT)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    number = await create_order(client, headers=storefront, customer_id=customer_id,
                                address_id=address_id)
    await client.patch(addresses_url(customer_id, address_id), json={"street": "Shennan Road"},
                       headers=storefront)
    order = await client.get(f"/v1/orders/{number}", headers=support(auth))
    assert order.json()["shipping_address"]["street"] == "Keyuan Road"


async def test_address_under_an_unknown_customer_is_404(client, auth):
    response = await client.post(addresses_url("no-such-customer"), json=address_payload(),
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


@pytest.mark.parametrize("role", [Role.FRAUD_ANALYST, Role.LOGISTICS_PARTNER,
                                  Role.PAYMENT_PARTNER, Role.PRIVACY_OFFICER])
async def test_other_roles_cannot_edit_addresses(client, auth, session, customer_id, role):
    address_id = await create_address(client, headers=auth(Role.STOREFRONT),
                                      customer_id=customer_id)
    headers = auth(role, partner_id="paypal" if role is Role.PAYMENT_PARTNER else "swiftship")
    attempts = [
        await client.post(addresses_url(customer_id), json=address_payload(), headers=headers),
        await client.patch(addresses_url(customer_id, address_id), json={"house_number": "9"},
                           headers=headers),
        await client.delete(addresses_url(customer_id, address_id), headers=headers),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert {r.json()["code"] for r in attempts} == {"role_not_permitted"}
    assert await session.scalar(select(func.count()).select_from(ShippingAddress)) == 1


# Messages

def messages_url(customer_id: str) -> str:
    return f"/v1/customers/{customer_id}/messages"


async def stored_message(session, app) -> tuple[Message, str, str | None]:
    """The one stored message row, with its body and subject decrypted."""
    row = await session.scalar(select(Message))
    cipher = app.state.keys.cipher
    return (row, cipher.decrypt(row.body_enc, context="message.body", row_id=row.id),
            cipher.decrypt_optional(row.subject_enc, context="message.subject", row_id=row.id))


@pytest.mark.parametrize("text,masked", [
    (f"my card {CARD}", "my card **** **** **** 1111"),
    ("card 4111-1111-1111-1111 exp 12/29", "card ****-****-****-1111 exp 12/29"),
    ("amex 378282246310005.", "amex ***********0005."),
    ("two: 4111111111111111 and 5555 5555 5555 4444",
     "two: ************1111 and **** **** **** 4444"),
])
async def test_card_numbers_in_message_text_are_masked(client, auth, session, app, customer_id,
                                                       text, masked):
    created = await client.post(messages_url(customer_id),
                                json={"direction": "inbound", "subject": f"re: {text}",
                                      "body": text}, headers=auth(Role.STOREFRONT))
    assert created.status_code == 201, created.text
    assert text not in created.text

    listed = await client.get(messages_url(customer_id), headers=support(auth))
    message = listed.json()["items"][0]
    assert (message["body"], message["subject"]) == (masked, f"re: {masked}")

    row, body, subject = await stored_message(session, app)
    assert (body, subject) == (masked, f"re: {masked}")
    digits = "".join(c for c in text if c.isdigit())
    for column in (row.body_enc, row.subject_enc or ""):
        assert digits[:12] not in column
    audit = (await session.scalars(select(AuditEntry))).all()
    assert not any(digits[:12] in str(e.fields) for e in audit)


async def test_numbers_that_are_not_cards_are_kept(client, auth, session, app, customer_id):
    text = "order HG-2026-000123, tracking 4111 1111 1111 1112, call 13800138000"
    await create_message(client, headers=auth(Role.STOREFRONT), customer_id=customer_id,
                         body=text)
    _, body, _ = await stored_message(session, app)
    assert body == text


async def test_message_is_recorded_and_read_with_exact_fields(client, auth, session,
                                                              customer_id):
    payload = {"channel": "chat", "direction": "outbound", "order_number": "HG-2026-000123",
               "subject": "Your cat tunnel", "body": "It ships tomorrow.",
               "occurred_at": "2026-11-28T08:00:00+08:00"}
    created = await client.post(messages_url(customer_id), json=payload,
                                headers=auth(Role.SUPPORT_AGENT, sub="agent-7"))
    assert created.status_code == 201
    assert set(created.json()) == {"id", "fields", "at"}
    assert created.json()["fields"] == sorted(payload)

    for headers in (support(auth), myself(auth, customer_id)):
        listed = await client.get(messages_url(customer_id), headers=headers)
        assert listed.status_code == 200
        (message,) = listed.json()["items"]
        assert set(message) == MESSAGE_VIEW
        assert message["id"] == created.json()["id"]
        assert message["occurred_at"] == "2026-11-28T00:00:00Z"
        assert {k: message[k] for k in ("channel", "direction", "order_number", "subject",
                                        "body")} == {k: payload[k] for k in (
            "channel", "direction", "order_number", "subject", "body")}

    row = await session.scalar(select(Message))
    assert payload["body"] not in row.body_enc
    assert payload["subject"] not in row.subject_enc
    reads = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "read"))).all()
    assert [(e.actor_role, e.purpose, e.resource, e.resource_id) for e in reads] == [
        ("support_agent", "service", "message", row.id), ("customer", "self", "message", row.id)]


async def test_card_number_as_message_order_number_is_rejected(client, auth, session,
                                                               customer_id):
    response = await client.post(messages_url(customer_id),
                                 json={"direction": "inbound", "body": "hi",
                                       "order_number": "4111111111111111"},
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "card_number_rejected"
    assert await session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize("purpose_role", [(Role.FRAUD_ANALYST, "fraud"),
                                          (Role.STOREFRONT, "delivery")])
async def test_purposes_without_messages_cannot_read_them(client, auth, session, customer_id,
                                                          purpose_role):
    role, purpose = purpose_role
    await create_message(client, headers=auth(Role.STOREFRONT), customer_id=customer_id)
    response = await client.get(messages_url(customer_id), headers=auth(role, purpose=purpose))
    assert response.status_code == 403
    assert response.json()["code"] == "purpose_not_permitted"
    assert "plush cat bed" not in response.text
    assert (await session.scalars(select(AuditEntry).where(AuditEntry.action == "read"))
            ).all() == []


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.FRAUD_ANALYST, Role.LOGISTICS_PARTNER])
async def test_only_storefront_and_support_record_messages(client, auth, session, customer_id,
                                                           role):
    response = await client.post(messages_url(customer_id),
                                 json={"direction": "inbound", "body": "hello"},
                                 headers=auth(role, sub=customer_id, partner_id="swiftship"))
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_permitted"
    assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_messages_page_oldest_first(client, auth, customer_id):
    storefront = auth(Role.STOREFRONT)
    ids = [await create_message(client, headers=storefront, customer_id=customer_id,
                                occurred_at=f"2026-11-2{n}T08:00:00Z") for n in (3, 1, 2)]
    first = await client.get(messages_url(customer_id), params={"limit": 2},
                             headers=support(auth))
    second = await client.get(messages_url(customer_id),
                              params={"limit": 2, "cursor": first.json()["next_cursor"]},
                              headers=support(auth))
    seen = [m["id"] for m in first.json()["items"] + second.json()["items"]]
    assert seen == [ids[1], ids[2], ids[0]]
    assert second.json()["next_cursor"] is None


@pytest.mark.parametrize("body", [{"direction": "inbound"}, {"direction": "sideways", "body": "x"},
                                  {"direction": "inbound", "body": ""},
                                  {"direction": "inbound", "body": "x", "channel": "fax"},
                                  {"direction": "inbound", "body": "x",
                                   "occurred_at": "2026-11-28T08:00:00"}])
async def test_bad_messages_are_422(client, auth, session, customer_id, body):
    response = await client.post(messages_url(customer_id), json=body,
                                 headers=auth(Role.STOREFRONT))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert await session.scalar(select(func.count()).select_from(Message)) == 0
