"""Settings: generated development secrets, refusing production without secrets, DB URLs."""

import base64
import json
import os
import stat

import pytest
from pydantic import ValidationError

from app.core.config import (
    DEV_SECRETS_FILE,
    MissingSecrets,
    Settings,
    async_database_url,
    resolve_secrets,
)

SECRET_NAMES = ("jwt_secret", "blind_index_key", "pseudonym_key", "audit_key",
                "audit_signing_key")


@pytest.fixture(autouse=True)
def _no_privacy_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("PRIVACY_"):
            monkeypatch.delenv(name)


def _settings(data_dir, **values) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **values)


def _secret_values(settings: Settings) -> dict:
    values = {name: getattr(settings, name).get_secret_value() for name in SECRET_NAMES}
    values["encryption_keys"] = {k: v.get_secret_value()
                                 for k, v in settings.encryption_keys.items()}
    return values


def test_development_generates_secrets_into_the_data_dir(tmp_path):
    """Missing secrets are generated once into a 0600 file in the data dir."""
    data_dir = tmp_path / "nested" / "data"
    resolved = resolve_secrets(_settings(data_dir))
    path = data_dir / DEV_SECRETS_FILE
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = _secret_values(resolved)
    assert all(len(values[name]) >= 32 for name in SECRET_NAMES)
    assert len(set(values[name] for name in SECRET_NAMES)) == len(SECRET_NAMES)
    assert len(base64.b64decode(values["audit_signing_key"])) == 32
    [(key_id, key)] = values["encryption_keys"].items()
    assert len(base64.b64decode(key)) == 32
    assert resolved.encryption_active_key_id == key_id
    assert json.loads(path.read_text()) == values


def test_second_resolve_reuses_the_generated_secrets(tmp_path):
    """A restart reads the same secrets back instead of generating new ones."""
    first = resolve_secrets(_settings(tmp_path))
    written = (tmp_path / DEV_SECRETS_FILE).read_text()
    second = resolve_secrets(_settings(tmp_path))
    assert _secret_values(second) == _secret_values(first)
    assert second.encryption_active_key_id == first.encryption_active_key_id
    assert (tmp_path / DEV_SECRETS_FILE).read_text() == written


def test_secrets_added_since_are_generated_into_an_older_file(tmp_path):
    """A data dir from before the audit keys keeps its secrets and gains the new ones."""
    first = resolve_secrets(_settings(tmp_path))
    path = tmp_path / DEV_SECRETS_FILE
    older = {k: v for k, v in json.loads(path.read_text()).items()
             if k not in ("audit_key", "audit_signing_key")}
    path.write_text(json.dumps(older))
    again = _secret_values(resolve_secrets(_settings(tmp_path)))
    assert {k: again[k] for k in ("jwt_secret", "blind_index_key", "pseudonym_key")} == {
        k: _secret_values(first)[k] for k in ("jwt_secret", "blind_index_key", "pseudonym_key")}
    assert json.loads(path.read_text())["audit_key"] == again["audit_key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_other_data_dirs_get_other_secrets(tmp_path):
    """Secrets are random per data dir, never a constant in the code."""
    one = resolve_secrets(_settings(tmp_path / "one"))
    two = resolve_secrets(_settings(tmp_path / "two"))
    assert set(_secret_values(one)["encryption_keys"].values()).isdisjoint(
        _secret_values(two)["encryption_keys"].values())
    for name in SECRET_NAMES:
        assert _secret_values(one)[name] != _secret_values(two)[name]


def test_explicit_secrets_win_over_generated_ones(tmp_path):
    """A configured secret is kept; only the missing ones are filled in."""
    resolved = resolve_secrets(_settings(tmp_path, jwt_secret="configured-jwt-secret"))
    assert resolved.jwt_secret.get_secret_value() == "configured-jwt-secret"
    assert resolved.blind_index_key is not None and resolved.pseudonym_key is not None


def test_production_without_secrets_names_the_variables(tmp_path):
    """Production refuses to start, naming every PRIVACY_ variable that is missing."""
    with pytest.raises(MissingSecrets) as exc:
        resolve_secrets(_settings(tmp_path, environment="production"))
    message = str(exc.value)
    for variable in ("PRIVACY_JWT_SECRET", "PRIVACY_BLIND_INDEX_KEY", "PRIVACY_PSEUDONYM_KEY",
                     "PRIVACY_ENCRYPTION_KEYS", "PRIVACY_AUDIT_KEY", "PRIVACY_AUDIT_SIGNING_KEY"):
        assert variable in message
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


def test_production_names_only_what_is_missing(tmp_path):
    """With some secrets set, production names only the rest."""
    with pytest.raises(MissingSecrets) as exc:
        resolve_secrets(_settings(tmp_path, environment="production", jwt_secret="s",
                                  blind_index_key="b"))
    message = str(exc.value)
    assert "PRIVACY_PSEUDONYM_KEY" in message and "PRIVACY_ENCRYPTION_KEYS" in message
    assert "PRIVACY_JWT_SECRET" not in message and "PRIVACY_BLIND_INDEX_KEY" not in message


def test_production_rs256_needs_a_jwks_url_not_a_secret(tmp_path):
    """For RS256 the JWKS URL is required and no HS256 secret is asked for."""
    key = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(MissingSecrets) as exc:
        resolve_secrets(_settings(tmp_path, environment="production", jwt_algorithm="RS256",
                                  blind_index_key="b", pseudonym_key="p",
                                  encryption_keys={"k1": key}))
    assert "PRIVACY_JWT_JWKS_URL" in str(exc.value)
    assert "PRIVACY_JWT_SECRET" not in str(exc.value)


def test_production_with_every_secret_resolves(tmp_path):
    """Complete production settings resolve unchanged, without writing a secrets file."""
    keys = {"k1": base64.b64encode(os.urandom(32)).decode(),
            "k2": base64.b64encode(os.urandom(32)).decode()}
    resolved = resolve_secrets(_settings(
        tmp_path, environment="production", jwt_secret="s" * 32, blind_index_key="b" * 32,
        pseudonym_key="p" * 32, encryption_keys=keys, encryption_active_key_id="k1",
        audit_key="a" * 32, audit_signing_key=base64.b64encode(os.urandom(32)).decode()))
    assert resolved.encryption_active_key_id == "k1"
    assert resolved.jwt_secret.get_secret_value() == "s" * 32
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


def _production(tmp_path, **overrides):
    values = {"environment": "production", "jwt_secret": "s" * 32, "blind_index_key": "b" * 32,
              "pseudonym_key": "p" * 32, "audit_key": "a" * 32,
              "audit_signing_key": base64.b64encode(os.urandom(32)).decode(),
              "encryption_keys": {"k1": base64.b64encode(os.urandom(32)).decode()}}
    return _settings(tmp_path, **(values | overrides))


@pytest.mark.parametrize("name", ["jwt_secret", "blind_index_key", "pseudonym_key",
                                  "audit_key"])
def test_production_refuses_secrets_shorter_than_32_bytes(tmp_path, name):
    """A 31-byte secret stops production, in one line naming the setting."""
    with pytest.raises(MissingSecrets) as exc:
        resolve_secrets(_production(tmp_path, **{name: "x" * 31}))
    assert str(exc.value) == f"PRIVACY_{name.upper()} must be at least 32 bytes in production"


def test_production_refuses_a_jwks_url_without_https(tmp_path):
    """RS256 keys fetched over plain http could be swapped in transit: refused."""
    with pytest.raises(MissingSecrets, match="PRIVACY_JWT_JWKS_URL must be an https://"):
        resolve_secrets(_production(tmp_path, jwt_algorithm="RS256",
                                    jwt_jwks_url="http://idp.example/jwks.json"))
    resolved = resolve_secrets(_production(tmp_path, jwt_algorithm="RS256",
                                           jwt_jwks_url="https://idp.example/jwks.json"))
    assert resolved.jwt_jwks_url == "https://idp.example/jwks.json"


def test_docs_are_served_in_development_only_unless_configured(tmp_path):
    """The docs default follows the environment; the setting overrides it."""
    assert _settings(tmp_path).serves_docs
    assert not _production(tmp_path).serves_docs
    assert _production(tmp_path, docs_enabled=True).serves_docs
    assert not _settings(tmp_path, docs_enabled=False).serves_docs


def test_active_key_must_be_configured(tmp_path):
    """An active key id naming no configured key is refused."""
    with pytest.raises(MissingSecrets, match="PRIVACY_ENCRYPTION_ACTIVE_KEY_ID"):
        resolve_secrets(_settings(
            tmp_path, environment="production", jwt_secret="s" * 32, blind_index_key="b" * 32,
            pseudonym_key="p" * 32,
            encryption_keys={"k1": base64.b64encode(os.urandom(32)).decode()},
            encryption_active_key_id="k9", audit_key="a" * 32,
            audit_signing_key=base64.b64encode(os.urandom(32)).decode()))


def test_settings_read_privacy_environment_variables(tmp_path, monkeypatch):
    """PRIVACY_* variables configure the service, encryption keys as a JSON object."""
    monkeypatch.setenv("PRIVACY_ENVIRONMENT", "production")
    monkeypatch.setenv("PRIVACY_ENCRYPTION_KEYS", json.dumps({"e1": "a2V5"}))
    monkeypatch.setenv("PRIVACY_DATABASE_URL", "postgresql://app@db:5432/privacy")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.environment == "production"
    assert settings.encryption_keys["e1"].get_secret_value() == "a2V5"
    assert settings.database_url == "postgresql+asyncpg://app@db:5432/privacy"


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:p@db:5432/privacy", "postgresql+asyncpg://u:p@db:5432/privacy"),
    ("postgres://u@db/privacy", "postgresql+asyncpg://u@db/privacy"),
    ("sqlite:///data/privacy.db", "sqlite+aiosqlite:///data/privacy.db"),
    ("sqlite:////abs/privacy.db", "sqlite+aiosqlite:////abs/privacy.db"),
    ("postgresql+asyncpg://u@db/privacy", "postgresql+asyncpg://u@db/privacy"),
    ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
])
def test_async_database_url_points_at_async_drivers(url, expected):
    """Plain postgresql:// and sqlite:// URLs get the async drivers; others are kept."""
    assert async_database_url(url) == expected


def test_settings_default_to_sqlite_in_the_data_dir(tmp_path):
    """Without a URL the database is an aiosqlite file in the data dir."""
    settings = _settings(tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'privacy.db'}"
    assert settings.is_sqlite
    explicit = _settings(tmp_path, database_url="postgresql://u@db/privacy")
    assert explicit.database_url == "postgresql+asyncpg://u@db/privacy"
    assert not explicit.is_sqlite


def test_background_work_runs_inline_unless_turned_off(tmp_path, monkeypatch):
    """Inline by default (one process does everything); `off` is read from the environment."""
    assert _settings(tmp_path).background_tasks == "inline"
    monkeypatch.setenv("PRIVACY_BACKGROUND_TASKS", "off")
    assert _settings(tmp_path).background_tasks == "off"


def test_an_unknown_background_mode_is_refused_naming_the_choices(tmp_path):
    with pytest.raises(ValidationError) as exc:
        _settings(tmp_path, background_tasks="sometimes")
    [error] = exc.value.errors()
    assert error["loc"] == ("background_tasks",)
    assert "'inline' or 'off'" in error["msg"]
