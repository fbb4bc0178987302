"""The request pipeline around every route: crashes, refusals and FastAPI's own telemetry."""

import logging

import httpx
import pytest
from opentelemetry import _logs, metrics, trace

from app.main import create_app
from app.observability.logs import _RequestIdFilter
from app.policy.roles import Role

SECRET = "Zebulon Quartermaine"


@pytest.fixture
async def crashing(settings):
    """An app with its lifespan and a /v1 route that crashes with a message holding a name."""
    app = create_app(settings, background_tasks=False)

    async def crash():
        raise RuntimeError(f"no row for {SECRET}")

    app.add_api_route("/v1/crash", crash)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_a_crash_is_a_500_problem_logged_without_its_message(crashing, auth, caplog):
    caplog.set_level(logging.INFO)
    response = await crashing.get("/v1/crash", headers=auth(Role.SUPPORT_AGENT,
                                                            purpose="service"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    request_id = response.headers["x-request-id"]
    crash = [r for r in caplog.records if r.name == "app.request"]
    assert len(crash) == 1 and "RuntimeError" in crash[0].getMessage()
    assert request_id in crash[0].getMessage()
    access = [r for r in caplog.records if r.name == "app.access"]
    assert [(a.fields["status"], a.fields["code"], a.fields["role"]) for a in access] == [
        (500, "internal_error", "support_agent")]
    assert SECRET not in caplog.text


async def test_refusals_before_the_route_carry_the_request_id_and_are_logged(client, caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(_RequestIdFilter())
    response = await client.get("/v1/orders", headers={
        "Authorization": "Bearer " + "a" * 9000, "X-Request-ID": "trace-1"})
    assert response.status_code == 401 and response.json()["code"] == "token_too_large"
    assert response.headers["x-request-id"] == "trace-1"
    assert response.headers["cache-control"] == "no-store"
    access = [r for r in caplog.records if r.name == "app.access"]
    assert [(a.fields["route"], a.fields["status"], a.fields["code"]) for a in access] == [
        ("unmatched", 401, "token_too_large")]
    assert all(r.request_id == "trace-1" for r in access)


async def test_fastapi_never_asks_opentelemetry(client, auth, monkeypatch):
    """The service's own logs and metrics observe requests; FastAPI's OpenTelemetry hooks,
    which would record exception messages, are off and cost nothing per request."""

    def asked(*args, **kwargs):
        raise AssertionError("FastAPI asked an OpenTelemetry provider")

    for module, name in ((trace, "get_tracer_provider"), (metrics, "get_meter_provider"),
                         (_logs, "get_logger_provider")):
        monkeypatch.setattr(module, name, asked)
    assert (await client.get("/health")).status_code == 200
    read = await client.get("/v1/orders", headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert read.status_code == 200
