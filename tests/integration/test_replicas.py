"""Two replicas started together on an empty PostgreSQL database both come up (the migration
advisory lock lets one migrate while the other waits) and serve the same data; of two
background workers one works and the other takes over when it dies."""

import base64
import os
import secrets
import signal

import httpx

from tests.cli.test_commands import wait_sealed, write_entry
from tests.integration.test_migrations import postgres_scratch_url  # noqa: F401 - fixture
from tests.live import cli, free_port, start_server, start_worker, stop, wait_for_log, wait_ready


def _production_env(database_url: str, tmp_path) -> dict[str, str]:
    return {
        "PRIVACY_ENVIRONMENT": "production", "PRIVACY_DATABASE_URL": database_url,
        "PRIVACY_DATA_DIR": str(tmp_path / "data"), "PRIVACY_LOG_LEVEL": "WARNING",
        "PRIVACY_JWT_SECRET": secrets.token_urlsafe(32),
        "PRIVACY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "PRIVACY_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "PRIVACY_AUDIT_KEY": secrets.token_urlsafe(32),
        "PRIVACY_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PRIVACY_ENCRYPTION_KEYS": f'{{"k1": "{base64.b64encode(os.urandom(32)).decode()}"}}',
    }


def test_two_replicas_start_together_on_an_empty_database(postgres_scratch_url, tmp_path):  # noqa: F811
    env = _production_env(postgres_scratch_url, tmp_path)
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


def test_one_of_two_workers_works_and_the_other_takes_over_when_it_dies(
        postgres_scratch_url, tmp_path):  # noqa: F811
    env = _production_env(postgres_scratch_url, tmp_path) | {
        "PRIVACY_LOG_LEVEL": "INFO", "PRIVACY_AUDIT_SEAL_INTERVAL_SECONDS": "0.2"}
    assert cli("migrate", env=env, cwd=tmp_path).returncode == 0
    workers = [start_worker(env=env, cwd=tmp_path, name=f"worker-{n}") for n in (0, 1)]
    logs = [tmp_path / f"worker-{n}.log" for n in (0, 1)]
    try:
        for log, worker in zip(logs, workers, strict=True):
            wait_for_log(log, "background work: ", worker)
        [owner] = [n for n in (0, 1) if "this process owns it" in logs[n].read_text()]
        standby = 1 - owner
        assert "standing by" in logs[standby].read_text()
        workers[owner].send_signal(signal.SIGKILL)  # dies without a word; its session ends
        workers[owner].wait(timeout=15)
        wait_for_log(logs[standby], "background work running", workers[standby])
        entry = write_entry(postgres_scratch_url, env["PRIVACY_AUDIT_KEY"])
        assert wait_sealed(postgres_scratch_url, entry) == 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=30) == 0
