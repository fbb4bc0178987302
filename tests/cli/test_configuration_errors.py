"""Misconfiguration: one line per problem naming the setting, exit code 2, no traceback,
and nothing migrated."""

import base64
import os

import pytest

from tests.cli.test_commands import run_cli

GOOD_KEY = base64.b64encode(os.urandom(32)).decode()
SHORT_KEY = base64.b64encode(b"too short").decode()


def _refused(result, *expected: str) -> list[str]:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert all(line.startswith("configuration error: PRIVACY_") for line in lines), lines
    for setting in expected:
        assert any(setting in line for line in lines), (setting, lines)
    return lines


@pytest.mark.parametrize(("env", "setting", "says"), [
    ({"PRIVACY_DATABASE_URL": "not a url"}, "PRIVACY_DATABASE_URL", "not a database URL"),
    ({"PRIVACY_DATABASE_URL": "mysql://u@127.0.0.1/db"}, "PRIVACY_DATABASE_URL", "unsupported"),
    ({"PRIVACY_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db"}, "PRIVACY_DATABASE_URL",
     "cannot connect"),
    ({"PRIVACY_ENCRYPTION_KEYS": '{"k1": '}, "PRIVACY_ENCRYPTION_KEYS", "not valid JSON"),
    ({"PRIVACY_ENCRYPTION_KEYS": f'{{"k1": "{SHORT_KEY}"}}'}, "PRIVACY_ENCRYPTION_KEYS",
     "9 bytes; AES-256 needs 32"),
    ({"PRIVACY_ENCRYPTION_KEYS": '{"k1": "***"}'}, "PRIVACY_ENCRYPTION_KEYS", "not base64"),
    ({"PRIVACY_DB_POOL_SIZE": "many"}, "PRIVACY_DB_POOL_SIZE", "integer"),
    ({"PRIVACY_LOG_LEVEL": "LOUD"}, "PRIVACY_LOG_LEVEL", "not a log level"),
    ({"PRIVACY_BACKGROUND_TASKS": "sometimes"}, "PRIVACY_BACKGROUND_TASKS",
     "Input should be 'inline' or 'off'"),
])
def test_each_problem_is_one_line_naming_the_setting(tmp_path, env, setting, says):
    data_dir = tmp_path / "data"
    result = run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=str(data_dir), **env)
    [line] = _refused(result, setting)
    assert says in line
    assert "hunter2" not in result.stderr
    assert not (data_dir / "privacy.db").exists(), "checked before migrating"


def test_a_data_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("serve", cwd=tmp_path, PRIVACY_DATA_DIR=str(blocker / "data"))
    [line] = _refused(result, "PRIVACY_DATA_DIR")
    assert "cannot create folder" in line


def test_every_problem_is_reported_at_once(tmp_path):
    result = run_cli("serve", cwd=tmp_path, PRIVACY_DATA_DIR=str(tmp_path / "data"),
                     PRIVACY_DATABASE_URL="postgresql://u@127.0.0.1:1/db",
                     PRIVACY_ENCRYPTION_KEYS=f'{{"k1": "{SHORT_KEY}"}}',
                     PRIVACY_LOG_LEVEL="LOUD")
    lines = _refused(result, "PRIVACY_DATABASE_URL", "PRIVACY_ENCRYPTION_KEYS",
                     "PRIVACY_LOG_LEVEL")
    assert len(lines) == 3


def test_production_names_each_missing_secret(tmp_path):
    result = run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=str(tmp_path / "data"),
                     PRIVACY_ENVIRONMENT="production")
    lines = _refused(result, "PRIVACY_JWT_SECRET", "PRIVACY_BLIND_INDEX_KEY",
                     "PRIVACY_PSEUDONYM_KEY", "PRIVACY_AUDIT_KEY", "PRIVACY_ENCRYPTION_KEYS",
                     "PRIVACY_AUDIT_SIGNING_KEY")
    assert len(lines) == 6
    assert not (tmp_path / "data" / "secrets.json").exists()


def test_rs256_with_a_jwks_url_needs_no_hs256_secret(tmp_path):
    data_dir = tmp_path / "data"
    result = run_cli("migrate", cwd=tmp_path, PRIVACY_DATA_DIR=str(data_dir),
                     PRIVACY_ENVIRONMENT="production", PRIVACY_JWT_ALGORITHM="RS256",
                     PRIVACY_JWT_JWKS_URL="https://idp.example/jwks.json",
                     PRIVACY_BLIND_INDEX_KEY="b" * 32, PRIVACY_PSEUDONYM_KEY="p" * 32,
                     PRIVACY_AUDIT_KEY="a" * 32, PRIVACY_AUDIT_SIGNING_KEY=GOOD_KEY,
                     PRIVACY_ENCRYPTION_KEYS=f'{{"k1": "{GOOD_KEY}"}}')
    assert result.returncode == 0, result.stderr
    assert (data_dir / "privacy.db").exists()
    assert not (data_dir / "secrets.json").exists()
