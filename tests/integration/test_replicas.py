"""Two replicas started together on an empty PostgreSQL database both come up (the migration
advisory lock lets one migrate while the other waits) and serve the same data."""

import base64
import os
import secrets

import httpx

from tests.integration.test_migrations import postgres_scratch_url  # noqa: F401 - fixture
from tests.live import cli, free_port, start_server, stop, wait_ready


def test_two_replicas_start_together_on_an_empty_database(postgres_scratch_url, tmp_path):  # noqa: F811
    env = {
        "PRIVACY_ENVIRONMENT": "production", "PRIVACY_DATABASE_URL": postgres_scratch_url,
        "PRIVACY_DATA_DIR": str(tmp_path / "data"), "PRIVACY_LOG_LEVEL": "WARNING",
        "PRIVACY_JWT_SECRET": secrets.token_urlsafe(32),
        "PRIVACY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "PRIVACY_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "PRIVACY_AUDIT_KEY": secrets.token_urlsafe(32),
        "PRIVACY_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PRIVACY_ENCRYPTION_KEYS": f'{{"k1": "{base64.b64encode(os.urandom(32)).decode()}"}}',
    }
    ports = [free_port(), free_port()]
    servers = [start_server(env=env, cwd=tmp_path, port=port) for port in ports]
    try:
        for port, server in zip(ports, servers, strict=True):
            ready = wait_ready(port, server, timeout=90)
            assert ready.json()["status"] == "ready"
        storefront = cli("token", "--role", "storefront", "--sub", "shop", env=env,
                         cwd=tmp_path).stdout.strip()
        agent = cli("token", "--role", "support_agent", "--sub", "agent-7", env=env,
                    cwd=tmp_path).stdout.strip()
        created = httpx.post(f"http://127.0.0.1:{ports[0]}/v1/customers", json={
            "name": "Replica Tester", "email": "replica.tester@example.com"},
            headers={"Authorization": f"Bearer {storefront}"})
        assert created.status_code == 201, created.text
        reads = [httpx.get(f"http://127.0.0.1:{port}/v1/customers/{created.json()['id']}",
                           headers={"Authorization": f"Bearer {agent}", "X-Purpose": "service"})
                 for port in ports]
        assert [r.status_code for r in reads] == [200, 200]
        assert reads[0].json() == reads[1].json()
        assert reads[1].json()["email"] == "replica.tester@example.com"
    finally:
        for server in servers:
            stop(server)
