"""Settings, read from `PRIVACY_*` environment variables (or a `.env` file)."""

import base64
import fcntl
import json
import os
import secrets
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRETS_FILE = "secrets.json"
GENERATED_SECRETS = ("jwt_secret", "blind_index_key", "pseudonym_key", "audit_key")


class Settings(BaseSettings):
    """Every knob of the service; each field documents itself in the README."""

    model_config = SettingsConfigDict(env_prefix="PRIVACY_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without explicit secrets and keys.",
    )
    data_dir: Path = Field(
        Path("data"),
        description="Folder for the SQLite file and generated development secrets.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default `sqlite+aiosqlite:///<data_dir>/privacy.db`. "
        "`postgresql://...` is used through asyncpg.",
    )
    db_pool_size: int = Field(
        20, ge=1, description="PostgreSQL connections per app process; requests beyond wait."
    )
    jwt_algorithm: Literal["HS256", "RS256"] = Field(
        "HS256", description="The one algorithm tokens must be signed with."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 signing secret; generated into the data dir in development."
    )
    jwt_issuer: str = Field("privacy-api", description="Required `iss` claim.")
    jwt_audience: str = Field("privacy-api", description="Required `aud` claim.")
    jwt_jwks_url: str | None = Field(None, description="JWKS URL for RS256 tokens.")
    jwks_cache_seconds: int = Field(300, ge=0, description="How long fetched JWKS are reused.")
    dev_token_ttl_seconds: int = Field(3600, ge=60, description="Lifetime of minted dev tokens.")
    encryption_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON object of key id to base64 AES-256 key, e.g. {"k1": "..."}.',
    )
    encryption_active_key_id: str | None = Field(
        None, description="Key id new values are encrypted with; older ids still decrypt."
    )
    blind_index_key: SecretStr | None = Field(
        None, description="HMAC key of the email blind index."
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key of the pseudonymous customer key shown for `fraud`."
    )
    default_phone_region: str | None = Field(
        None, description="ISO region for phone numbers given without +country code."
    )
    http_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of outbound HTTP.")
    audit_seal_interval_seconds: float = Field(
        1.0, gt=0, description="How often the server links new audit entries into the chain."
    )
    audit_key: SecretStr | None = Field(
        None, description="HMAC key of audit entry MACs and the audit chain; the database never "
        "holds it. Generated into the data dir in development.",
    )
    audit_signing_key: SecretStr | None = Field(
        None, description="Base64 Ed25519 private key (32 bytes) that signs audit checkpoints; "
        "generated into the data dir in development.",
    )
    audit_checkpoint_interval_seconds: float = Field(
        60.0, gt=0, description="How often the server writes a signed audit checkpoint."
    )
    audit_checkpoint_file: Path | None = Field(
        None, description="Append-only JSON-lines file of signed audit checkpoints; "
        "default <data_dir>/audit-checkpoints.jsonl.",
    )
    audit_checkpoint_url: str | None = Field(
        None, description="Where each signed audit checkpoint is also POSTed (JSON), if set."
    )
    audit_retention_days: int = Field(
        400, ge=1, description="Audit entries older than this may be archived out of the database."
    )
    audit_archive_dir: Path | None = Field(
        None, description="Folder of archived audit entries; default <data_dir>/audit-archive."
    )
    log_level: str = Field("INFO", description="Python log level.")
    business_timezone: str = Field(
        "Asia/Shanghai", description="Time zone of customer-service hours (UTC+8)."
    )
    business_day_start: time = Field(time(9, 0), description="Customer service opens.")
    business_day_end: time = Field(time(18, 0), description="Customer service closes.")
    holiday_country: str | None = Field(
        "CN", description="Country whose public holidays (holidays library) are not business days."
    )
    extra_holidays: list[date] = Field(
        default_factory=list, description="More closed dates, as a JSON list of ISO dates."
    )
    verification_code_ttl_seconds: int = Field(
        600, ge=60, description="How long a one-time verification code is valid."
    )
    verification_max_attempts: int = Field(
        5, ge=1, description="Wrong codes allowed before the request must be restarted."
    )
    order_retention_days: int = Field(
        3650, ge=1, description="How long the law requires order records to be kept."
    )
    mail_from: str = Field(
        "service@mail.ximorent.com", description="Sender address of outgoing email."
    )
    smtp_host: str | None = Field(
        None, description="SMTP server; without one, mail is written to the mail folder."
    )
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    mail_dir: Path | None = Field(
        None, description="Folder for mail when no SMTP server is set; default <data_dir>/mail."
    )
    outbox_interval_seconds: float = Field(
        2.0, gt=0, description="How often the server delivers pending outbox messages."
    )
    outbox_max_attempts: int = Field(
        10, ge=1, description="Delivery attempts before an outbox message is given up."
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> "Settings":
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'privacy.db'}"
        self.database_url = async_database_url(self.database_url)
        if self.mail_dir is None:
            self.mail_dir = self.data_dir / "mail"
        if self.audit_checkpoint_file is None:
            self.audit_checkpoint_file = self.data_dir / "audit-checkpoints.jsonl"
        if self.audit_archive_dir is None:
            self.audit_archive_dir = self.data_dir / "audit-archive"
        return self

    @property
    def is_sqlite(self) -> bool:
        """Whether the embedded SQLite database is in use."""
        return self.database_url.startswith("sqlite")


class MissingSecrets(RuntimeError):
    """Raised in production when a secret or key is not configured."""


def async_database_url(url: str) -> str:
    """Point plain `postgresql://` and `sqlite://` URLs at the async drivers."""
    for plain, driver in (("postgresql://", "postgresql+asyncpg://"),
                          ("postgres://", "postgresql+asyncpg://"),
                          ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def _missing(settings: Settings) -> list[str]:
    missing = [name for name in GENERATED_SECRETS if getattr(settings, name) is None]
    if settings.jwt_algorithm == "RS256":
        missing = [m for m in missing if m != "jwt_secret"]
        if not settings.jwt_jwks_url:
            missing.append("jwt_jwks_url")
    if not settings.encryption_keys:
        missing.append("encryption_keys")
    if settings.audit_signing_key is None:
        missing.append("audit_signing_key")
    return missing


def _new_dev_secrets() -> dict[str, object]:
    generated: dict[str, object] = {name: secrets.token_urlsafe(32) for name in GENERATED_SECRETS}
    generated["encryption_keys"] = {"dev1": base64.b64encode(os.urandom(32)).decode()}
    generated["audit_signing_key"] = base64.b64encode(os.urandom(32)).decode()
    return generated


def _load_dev_secrets(data_dir: Path) -> dict[str, object]:
    """Read the generated development secrets, creating them (or ones added since) on start."""
    path = data_dir / DEV_SECRETS_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f"{DEV_SECRETS_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # replicas starting at once must agree on one set
        current = json.loads(path.read_text()) if path.exists() else {}
        generated = _new_dev_secrets() | current
        if generated != current:
            fresh = path.with_suffix(".tmp")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(generated, handle)
            os.replace(fresh, path)
    return generated


def resolve_secrets(settings: Settings) -> Settings:
    """Return settings with every secret present, or raise `MissingSecrets` in production."""
    missing = _missing(settings)
    if missing and settings.environment == "production":
        names = ", ".join(f"PRIVACY_{m.upper()}" for m in missing)
        raise MissingSecrets(f"production needs explicit secrets: {names}")
    if missing:
        dev = _load_dev_secrets(settings.data_dir)
        updates: dict[str, object] = {
            name: SecretStr(dev[name]) for name in missing
            if name in (*GENERATED_SECRETS, "audit_signing_key")
        }
        if "encryption_keys" in missing:
            generated = dev["encryption_keys"]
            updates["encryption_keys"] = {k: SecretStr(v) for k, v in generated.items()}
        settings = settings.model_copy(update=updates)
    if settings.encryption_active_key_id is None:
        settings = settings.model_copy(
            update={"encryption_active_key_id": sorted(settings.encryption_keys)[-1]}
        )
    if settings.encryption_active_key_id not in settings.encryption_keys:
        raise MissingSecrets("PRIVACY_ENCRYPTION_ACTIVE_KEY_ID names no configured key")
    return settings


@lru_cache
def get_settings() -> Settings:
    """Settings of this process as configured; secrets may still be missing."""
    return Settings()


@lru_cache
def resolved_settings() -> Settings:
    """Settings of this process with every secret present (generated in development)."""
    return resolve_secrets(get_settings())
