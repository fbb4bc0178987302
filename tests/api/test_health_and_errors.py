"""Probes and the problem-details shape of every error."""

from app.policy.roles import Role


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_unknown_route_is_problem_details(client):
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert set(body) == {"type", "title", "status", "detail", "code"}


async def test_wrong_method_is_problem_details(client):
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_validation_errors_never_echo_the_input(client, auth):
    response = await client.post("/v1/customers", headers=auth(Role.STOREFRONT),
                                 json={"name": "Mei", "email": "secret-value@@example"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret-value" not in response.text
    assert response.json()["errors"][0]["loc"] == ["body", "email"]


async def test_request_id_is_echoed_or_generated(client):
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32
