"""What the contract says is what the service does: strict booleans, a correct `Allow` on 405."""

import pytest

from app.policy.roles import Role
from tests.factories import create_customer


@pytest.mark.parametrize("value", ["0", "1", "yes", "no", "on", "True", "FALSE", ""])
async def test_query_booleans_are_true_or_false_only(client, auth, value):
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    for url in ("/v1/requests", "/v1/complaints"):
        response = await client.get(url, params={"overdue": value}, headers=officer)
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["loc"] == ["query", "overdue"]
    answered = await client.get("/v1/complaints", params={"answered": value}, headers=officer)
    assert answered.status_code == 422


async def test_query_booleans_accept_true_and_false(client, auth):
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    for value in ("true", "false"):
        assert (await client.get("/v1/requests", params={"overdue": value},
                                 headers=officer)).status_code == 200
        assert (await client.get("/v1/complaints", params={"overdue": value, "answered": value},
                                 headers=officer)).status_code == 200


@pytest.mark.parametrize("granted", [0, 1, "yes", "true", None])
async def test_body_booleans_are_json_booleans_only(client, auth, granted):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    response = await client.put(f"/v1/customers/{customer_id}/consents/notifications",
                                json={"granted": granted},
                                headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "granted"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/v1/complaints", "GET, POST"),
    ("PUT", "/v1/customers/abc", "GET, PATCH"),
    ("PATCH", "/v1/customers/abc/addresses", "GET, POST"),
    ("POST", "/health", "GET"),
])
async def test_405_names_every_method_of_the_path(client, method, path, allow):
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == allow
