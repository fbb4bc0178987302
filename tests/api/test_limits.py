"""Size limits on bodies, headers and tokens, and the safety headers of every response."""

import json

import httpx
from sqlalchemy import func, select

from app.identity.models import Customer
from app.main import create_app
from app.policy.roles import Role
from tests.factories import customer_payload

MIB = 1_048_576
CHUNK = 65_536


def _chunks(total: int, sent: list[int]):
    """An async body of `total` bytes in 64 KiB chunks, counting what was pulled."""

    async def body():
        for _ in range(total // CHUNK):
            sent.append(CHUNK)
            yield b" " * CHUNK

    return body()


def _is_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_declared_oversize_body_is_refused_before_the_token_is_checked(client):
    """50 MB declared without a token: 413, not 401, and the body is never pulled."""
    sent: list[int] = []
    response = await client.post(
        "/v1/customers", content=_chunks(50 * MIB, sent),
        headers={"Content-Length": str(50 * MIB), "Content-Type": "application/json"})
    _is_problem(response, 413, "body_too_large")
    assert sum(sent) <= CHUNK


async def test_chunked_oversize_body_stops_being_read_at_the_limit(client, auth, session):
    """A chunked body with no length is counted as it arrives; reading stops past 1 MiB."""
    sent: list[int] = []
    response = await client.post("/v1/customers", content=_chunks(50 * MIB, sent),
                                 headers=auth(Role.STOREFRONT) | {"Content-Type":
                                                                  "application/json"})
    assert "content-length" not in response.request.headers
    _is_problem(response, 413, "body_too_large")
    assert sum(sent) <= MIB + 2 * CHUNK
    assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_chunked_body_within_the_limit_is_served(client, auth):
    """A chunked JSON body under the limit is parsed as usual."""
    payload = json.dumps(customer_payload()).encode()

    async def body():
        yield payload[:10]
        yield payload[10:]

    response = await client.post("/v1/customers", content=body(),
                                 headers=auth(Role.STOREFRONT) | {"Content-Type":
                                                                  "application/json"})
    assert response.status_code == 201


async def test_oversize_token_is_401_without_verification(client):
    """A 5 KB Authorization header is refused as a token, before any signature check."""
    response = await client.get("/v1/orders",
                                headers={"Authorization": "Bearer " + "a" * 5000})
    _is_problem(response, 401, "token_too_large")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_oversize_headers_are_431(client):
    """Headers adding up to more than 16 KiB are refused."""
    headers = {f"X-Filler-{n}": "x" * 1000 for n in range(20)}
    _is_problem(await client.get("/health", headers=headers), 431, "headers_too_large")


async def test_personal_data_responses_are_not_cached_or_sniffed(client, auth):
    """Every /v1 answer, errors included, says no-store and nosniff; probes say nosniff."""
    for response in (
        await client.post("/v1/customers", headers=auth(Role.STOREFRONT),
                          json=customer_payload()),
        await client.get("/v1/orders"),
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    health = await client.get("/health")
    assert health.headers["x-content-type-options"] == "nosniff"


async def test_docs_are_not_served_when_disabled(settings):
    """With docs off (the production default), no explorer and no schema are served."""
    app = create_app(settings.model_copy(update={"docs_enabled": False}),
                     background_tasks=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await http.get(path)).status_code == 404


async def test_docs_are_served_in_development(client):
    """The development default serves the explorer and the schema."""
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await client.get(path)).status_code == 200
