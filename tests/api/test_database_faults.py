"""A lost database is 503 `database_unavailable` with Retry-After, never 500; the pool recovers."""

import uuid
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from sqlalchemy import text

from app.main import create_app
from app.policy.roles import Role
from tests.conftest import TEST_DATABASE_URL
from tests.factories import customer_payload

UNREACHABLE = {
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere",
    "sqlite": "sqlite+aiosqlite:////nonexistent-folder/privacy.db",
}


@asynccontextmanager
async def _client_of(settings):
    app = create_app(settings, background_tasks=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def _is_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize("database", sorted(UNREACHABLE))
async def test_unreachable_database_is_503_for_reads_and_writes(settings, auth, database):
    unreachable = settings.model_copy(update={"database_url": UNREACHABLE[database]})
    async with _client_of(unreachable) as http:
        _is_unavailable(await http.post("/v1/customers", headers=auth(Role.STOREFRONT),
                                        json=customer_payload()))
        agent = auth(Role.SUPPORT_AGENT, purpose="service")
        _is_unavailable(await http.get("/v1/orders", headers=agent))
        # the lean read of one customer takes its connection from the driver pool on PostgreSQL
        _is_unavailable(await http.get(f"/v1/customers/{uuid.uuid4()}", headers=agent))


async def test_database_disposed_under_the_app_is_reconnected(app, client, auth):
    """Dropping every pooled connection mid-life does not fail the next request."""
    headers = auth(Role.SUPPORT_AGENT, purpose="service")
    assert (await client.get("/v1/orders", headers=headers)).status_code == 200
    await app.state.engine.dispose()
    assert (await client.get("/v1/orders", headers=headers)).status_code == 200


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: the server ends sessions")
async def test_connections_killed_by_the_server_are_replaced(client, auth, inspection_engine):
    """After the server terminates the pool's connections, pre-ping swaps them for new ones."""
    headers = auth(Role.SUPPORT_AGENT, purpose="service")
    for _ in range(3):
        assert (await client.get("/v1/orders", headers=headers)).status_code == 200
    async with inspection_engine.begin() as connection:
        killed = await connection.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    assert killed >= 1
    statuses = [(await client.get("/v1/orders", headers=headers)).status_code for _ in range(5)]
    assert statuses == [200] * 5


async def test_other_database_errors_are_not_hidden_as_503(app):
    """A wrong statement is our bug (500), not an outage (503)."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from app.core.errors import _lost_database

    assert _lost_database(OperationalError("SELECT 1", {}, Exception("gone")))
    assert _lost_database(ConnectionRefusedError())
    assert not _lost_database(IntegrityError("INSERT", {}, Exception("duplicate")))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: the driver pool")
async def test_a_full_driver_pool_is_503_after_the_wait(app, client, auth, monkeypatch):
    """Lean reads wait for a free connection of their pool as long as the engine's pool would,
    then answer 503, never hang or 500."""
    from app.core import driver_pool

    monkeypatch.setattr(driver_pool, "POOL_TIMEOUT_SECONDS", 0.2)
    async with AsyncExitStack() as held:
        for _ in range(app.state.settings.db_pool_size):
            await held.enter_async_context(app.state.driver_pool.checkout())
        _is_unavailable(await client.get(f"/v1/customers/{uuid.uuid4()}",
                                         headers=auth(Role.SUPPORT_AGENT, purpose="service")))
    response = await client.get(f"/v1/customers/{uuid.uuid4()}",
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert response.status_code == 404
