"""Rate limits per actor and per client address, per route class, in memory and in Redis."""

import random
import socket
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest

from app.core.ratelimit import RouteClass, route_class
from app.main import create_app
from app.policy.roles import Role

REDIS = ("127.0.0.1", 6379)
# Day-long windows: the sliding window weighs the previous window's count, so a test that
# straddled a minute boundary would see its earlier calls count for less.
DAY = 86_400
LOW = {"rate_limit_reads": "3/day", "rate_limit_writes": "2/day",
       "rate_limit_complaints": "1/day", "rate_limit_rights_requests": "1/day",
       "rate_limit_code_checks": "2/day", "rate_limit_address_factor": 1,
       "rate_limit_role_factors": {"storefront": 2}}


def _redis_answers() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(REDIS) == 0


@asynccontextmanager
async def _replica(settings, **overrides):
    """An app instance with its lifespan running and low limits."""
    app = create_app(settings.model_copy(update=LOW | overrides), background_tasks=False)
    async with app.router.lifespan_context(app):
        yield app


def _client(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def _address() -> str:
    """A fresh client address, so counts kept in Redis by earlier runs never collide."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _assert_rate_limited(response: httpx.Response, cls: str, quota: int, window: int) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    assert response.headers["ratelimit-policy"] == f'"{cls}";q={quota};w={window}'
    assert response.headers["ratelimit"] == f'"{cls}";r=0;t={retry_after}'


async def _reads(http: httpx.AsyncClient, headers: dict, times: int) -> list[int]:
    return [(await http.get("/v1/orders", headers=headers)).status_code for _ in range(times)]


async def test_reads_are_limited_per_actor(settings, auth):
    async with _replica(settings, rate_limit_address_factor=10) as app, \
            _client(app, _address()) as http:
        agent = auth(Role.SUPPORT_AGENT, sub="agent-1", purpose="service")
        assert await _reads(http, agent, 3) == [200, 200, 200]
        _assert_rate_limited(await http.get("/v1/orders", headers=agent), "reads", 3, DAY)
        other = auth(Role.SUPPORT_AGENT, sub="agent-2", purpose="service")
        assert await _reads(http, other, 1) == [200]


async def test_one_address_is_limited_across_actors(settings, auth):
    """Fresh tokens from one address do not buy fresh limits."""
    async with _replica(settings) as app, _client(app, _address()) as http:
        for sub in ("a-1", "a-2", "a-3"):
            assert await _reads(http, auth(Role.SUPPORT_AGENT, sub=sub, purpose="service"),
                                1) == [200]
        late = await http.get("/v1/orders", headers=auth(Role.SUPPORT_AGENT, sub="a-4",
                                                          purpose="service"))
        _assert_rate_limited(late, "reads", 3, DAY)
        async with _client(app, _address()) as elsewhere:
            assert await _reads(elsewhere, auth(Role.SUPPORT_AGENT, sub="a-4",
                                                purpose="service"), 1) == [200]


async def test_unverified_tokens_are_counted_by_address(settings):
    async with _replica(settings) as app, _client(app, _address()) as http:
        bogus = {"Authorization": "Bearer not-a-token"}
        assert await _reads(http, bogus, 3) == [401, 401, 401]
        _assert_rate_limited(await http.get("/v1/orders", headers=bogus), "reads", 3, DAY)


async def test_complaints_have_their_own_limit(settings, auth):
    """One complaint a day, times 2 for the storefront (here): the third is 429 before it
    is read; reads still work."""
    async with _replica(settings) as app, _client(app, _address()) as http:
        storefront = auth(Role.STOREFRONT)
        body = {"customer_id": str(uuid.uuid4()), "body": "Where is my parcel?"}
        answers = [await http.post("/v1/complaints", headers=storefront, json=body)
                   for _ in range(3)]
        assert [a.status_code for a in answers[:2]] == [404, 404]  # unknown customer
        _assert_rate_limited(answers[2], "complaints", 2, DAY)
        assert await _reads(http, auth(Role.STOREFRONT, purpose="service"), 1) == [200]


async def test_roles_acting_for_many_customers_get_their_factor(settings, auth):
    async with _replica(settings, rate_limit_address_factor=10) as app, \
            _client(app, _address()) as http:
        assert await _reads(http, auth(Role.STOREFRONT, purpose="service"), 7) == [200] * 6 + [
            429]


async def test_probes_and_a_disabled_limiter_are_not_limited(settings, auth):
    async with _replica(settings) as app, _client(app, _address()) as http:
        assert {(await http.get("/health")).status_code for _ in range(5)} == {200}
    async with _replica(settings, rate_limit_enabled=False) as app, \
            _client(app, _address()) as http:
        assert set(await _reads(http, auth(Role.SUPPORT_AGENT, purpose="service"), 5)) == {200}


def test_route_classes():
    assert route_class("GET", "/v1/orders") is RouteClass.READS
    assert route_class("POST", "/v1/requests") is RouteClass.RIGHTS_REQUESTS
    assert route_class("POST", "/v1/requests/abc/verify") is RouteClass.CODE_CHECKS
    assert route_class("POST", "/v1/complaints") is RouteClass.COMPLAINTS
    assert route_class("POST", "/v1/complaints/abc/answer") is RouteClass.WRITES
    assert route_class("PATCH", "/v1/customers/abc") is RouteClass.WRITES
    assert route_class("GET", "/health") is None


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
async def test_replicas_share_limits_through_redis(settings, auth):
    """Two app instances count against one limit kept in Redis."""
    address, sub = _address(), f"agent-{uuid.uuid4()}"
    agent = auth(Role.SUPPORT_AGENT, sub=sub, purpose="service")
    redis = {"redis_url": "redis://127.0.0.1:6379", "rate_limit_address_factor": 10}
    async with _replica(settings, **redis) as one, _replica(settings, **redis) as two, \
            _client(one, address) as first, _client(two, address) as second:
        assert await _reads(first, agent, 2) == [200, 200]
        assert await _reads(second, agent, 1) == [200]
        _assert_rate_limited(await first.get("/v1/orders", headers=agent), "reads", 3, DAY)
        _assert_rate_limited(await second.get("/v1/orders", headers=agent), "reads", 3, DAY)


async def test_an_unreachable_redis_lets_calls_through(settings, auth):
    """A counter outage is not a service outage: calls pass (and a warning is logged)."""
    async with _replica(settings, redis_url="redis://127.0.0.1:9") as app, \
            _client(app, _address()) as http:
        assert set(await _reads(http, auth(Role.SUPPORT_AGENT, purpose="service"), 5)) == {200}
