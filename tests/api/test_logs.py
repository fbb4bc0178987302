"""Logs: the configured level governs the app's loggers, JSON access lines say who did what,
and no personal value ever reaches a log line."""

import io
import json
import logging

import pytest

from app.core.migrations import upgrade
from app.observability.logs import JsonFormatter, _RequestIdFilter, configure_logging
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order

NAME, EMAIL, PHONE = "Zebulon Quartermaine", "zebulon.q@example.com", "+4915123400001"
STREET, CITY, BODY = "Geheimnisweg", "Quedlinburg", "Secret parcel to Zebulon"
PERSONAL_VALUES = (NAME, "Zebulon", "Quartermaine", EMAIL, "zebulon.q", PHONE, "15123400001",
                   STREET, CITY, BODY)


@pytest.fixture
def restore_logging():
    """Put the root logger back as pytest had it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def json_lines(restore_logging):
    """Capture every log line at INFO as JSON, as `PRIVACY_LOG_FORMAT=json` writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    return lines


def test_log_level_still_governs_after_migrating(tmp_path, restore_logging):
    """Alembic's logging file must not reset the root logger the app configured."""
    configure_logging(level="INFO", style="text")
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("app.access").isEnabledFor(logging.INFO)
    configure_logging(level="WARNING", style="json")
    assert not logging.getLogger("app.access").isEnabledFor(logging.INFO)
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)


async def test_every_access_line_names_request_role_route_status_duration(
        client, auth, json_lines):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    read = await client.get(f"/v1/customers/{customer_id}",
                            headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    denied = await client.get(f"/v1/customers/{customer_id}",
                              headers=auth(Role.SUPPORT_AGENT, purpose="fraud"))
    anonymous = await client.get("/v1/customers/nobody")
    access = [line for line in json_lines() if line["logger"] == "app.access"]
    assert [(a["method"], a["route"], a["status"], a["role"], a["code"]) for a in access] == [
        ("POST", "/v1/customers", 201, "storefront", None),
        ("GET", "/v1/customers/{customer_id}", 200, "support_agent", None),
        ("GET", "/v1/customers/{customer_id}", 403, "support_agent", "purpose_not_permitted"),
        ("GET", "/v1/customers/{customer_id}", 401, "-", "unauthenticated"),
    ]
    responses = [None, read, denied, anonymous]
    for line, response in zip(access[1:], responses[1:], strict=True):
        assert line["request_id"] == response.headers["x-request-id"]
    assert all(a["duration_ms"] >= 0 and a["level"] == "INFO" for a in access)


async def test_no_personal_value_reaches_the_logs(client, auth, json_lines, session, app,
                                                  deliver_mail):
    """Known values sent through the main routes never appear in any captured log line."""
    from tests.api.test_requests import _code

    storefront = auth(Role.STOREFRONT)
    agent = auth(Role.SUPPORT_AGENT, purpose="service")
    customer_id = await create_customer(client, headers=storefront, name=NAME, email=EMAIL,
                                        phone=PHONE)
    me = auth(Role.CUSTOMER, sub=customer_id)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id,
                                      recipient_name=NAME, street=STREET, city=CITY, phone=PHONE)
    order = await create_order(client, headers=storefront, customer_id=customer_id,
                               address_id=address_id)
    await create_message(client, headers=storefront, customer_id=customer_id, body=BODY)
    calls = [
        client.get(f"/v1/customers/{customer_id}", headers=agent),
        client.post("/v1/customers/lookup", json={"email": EMAIL}, headers=agent),
        client.post("/v1/customers/lookup", json={"email": "x" + EMAIL}, headers=agent),
        client.patch(f"/v1/customers/{customer_id}", json={"phone": "+49 151 23400001"},
                     headers=storefront),
        client.get(f"/v1/customers/{customer_id}/addresses", headers=agent),
        client.get(f"/v1/orders/{order}", headers=agent),
        client.get(f"/v1/customers/{customer_id}/messages", headers=agent),
        client.post("/v1/complaints", json={"customer_id": customer_id, "body": BODY},
                    headers=me),
        client.post("/v1/customers", json={"name": NAME, "email": "not-an-email " + EMAIL},
                    headers=storefront),
        client.get(f"/v1/customers/{customer_id}/access-log",
                   headers=auth(Role.PRIVACY_OFFICER, purpose="service")),
    ]
    for call in calls:
        assert (await call).status_code < 500
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"},
                              headers={**me, "X-Purpose": "self"})
    code = await _code(session, app.state.keys, filed.json()["id"])
    verified = await client.post(f"/v1/requests/{filed.json()['id']}/verify",
                                 json={"code": code}, headers={**me, "X-Purpose": "self"})
    assert verified.status_code == 200
    await deliver_mail()
    export = await client.get(f"/v1/requests/{filed.json()['id']}/export",
                            headers={**me, "X-Purpose": "self"})
    assert export.status_code == 200 and EMAIL in export.text

    logged = json.dumps(json_lines())
    assert len(json_lines()) >= len(calls)
    for value in PERSONAL_VALUES:
        assert value.lower() not in logged.lower(), f"{value!r} was logged"
