"""`/metrics`: Prometheus text with requests by route template, denials and backlogs."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.policy.roles import Role
from tests.factories import create_customer


async def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def _value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_latency_and_denials_by_route_and_reason(client, auth):
    route = "/v1/customers/{customer_id}"
    before = await _scrape(client)
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    for purpose in ("service", "fraud", "fraud"):
        await client.get(f"/v1/customers/{customer_id}",
                         headers=auth(Role.SUPPORT_AGENT, purpose=purpose))
    listed = await client.get("/v1/complaints", headers=auth(Role.CUSTOMER, sub=customer_id))
    assert listed.status_code == 403
    after = await _scrape(client)

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("privacy_api_requests_total", method="GET", route=route, status="200") == 1
    assert grew("privacy_api_requests_total", method="GET", route=route, status="403") == 2
    assert grew("privacy_api_request_duration_seconds_count", method="GET", route=route,
                status="403") == 2
    assert grew("privacy_api_policy_denials_total", reason="purpose_not_permitted") == 2
    assert grew("privacy_api_policy_denials_total", reason="role_not_permitted") == 1
    assert not any(customer_id in str(key) for key in after), "raw paths are not labels"


async def test_backlog_gauges_count_open_work(client, auth):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    me = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"}, headers=me)
    assert filed.status_code == 201
    complaint = await client.post("/v1/complaints", json={"customer_id": customer_id,
                                                          "body": "Where is my parcel?"},
                                  headers=me)
    assert complaint.status_code == 201
    samples = await _scrape(client)
    assert _value(samples, "privacy_api_rights_requests", state="open") == 1
    assert _value(samples, "privacy_api_rights_requests", state="overdue") == 0
    assert _value(samples, "privacy_api_complaints", state="open") == 1
    assert _value(samples, "privacy_api_complaints", state="overdue") == 0
    assert _value(samples, "privacy_api_outbox_messages", state="pending") == 1
    assert _value(samples, "privacy_api_outbox_messages", state="failed") == 0
    assert _value(samples, "privacy_api_audit_unsealed_entries") >= 3


@pytest.mark.parametrize(("environment", "enabled", "status"), [
    ("production", None, 404), ("production", True, 200), ("development", False, 404),
])
async def test_metrics_are_off_in_production_unless_enabled(settings, environment, enabled,
                                                            status):
    configured = settings.model_copy(update={"environment": environment,
                                             "metrics_enabled": enabled})
    application = create_app(configured, background_tasks=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/metrics")
    assert response.status_code == status
    if status == 404:
        assert response.json()["code"] == "not_found"
