"""Settings, read from `PRIVACY_*` environment variables (or a `.env` file)."""

import base64
import fcntl
import json
import os
import secrets
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRETS_FILE = "secrets.json"
GENERATED_SECRETS = ("jwt_secret", "blind_index_key", "pseudonym_key", "audit_key")
MIN_SECRET_BYTES = 32


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
        20, ge=1, description="PostgreSQL connections per pool of an app process (the engine's, "
                              "and the lean reads' own); requests beyond wait."
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
    background_tasks: Literal["inline", "off"] = Field(
        "inline", description="`inline`: the server also runs the background work (audit "
        "sealing, outbox, webhooks, retention, notices; one process of a PostgreSQL deployment "
        "at a time). `off`: it only serves requests, and `privacy-api worker` runs that work."
    )
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
    log_level: str = Field(
        "INFO", description="Python log level of the app's loggers (DEBUG, INFO, WARNING, ...)."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per log line, access lines with request id, "
        "role, route, status and duration."
    )
    metrics_enabled: bool | None = Field(
        None, description="Serve Prometheus metrics at `/metrics`; default on in development, "
        "off in production."
    )
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
    verification_lock_after: int = Field(
        5, ge=1, description="Wrong codes for one customer, across all its requests, before "
        "code checks and code mails for that customer are locked."
    )
    verification_actor_lock_after: int = Field(
        50, ge=1, description="Wrong codes by one caller (token subject), across all "
        "customers, before that caller's code checks and code mails are locked."
    )
    verification_lock_base_seconds: int = Field(
        300, ge=1, description="First lockout; each further one doubles (base * 2^k)."
    )
    verification_lock_max_seconds: int = Field(
        86400, ge=1, description="Longest lockout; the doubling stops here."
    )
    verification_lock_window_seconds: int = Field(
        86400, ge=1, description="Quiet time (no wrong code, no lockout) after which wrong "
        "codes and earlier lockouts are forgotten."
    )
    verification_resend_seconds: int = Field(
        300, ge=0, description="At most one code mail per customer in this time; filing "
        "again within it answers the pending request instead of mailing another code."
    )
    order_retention_days: int = Field(
        3650, ge=1, description="How long the law requires order records to be kept."
    )
    retention_messages_days: int = Field(
        730, ge=0, description="Communication records go this long after the customer's last "
        "message.")
    retention_addresses_days: int = Field(
        730, ge=0, description="Book addresses go this long after their last change or order, "
        "once no undelivered order ships to them.")
    retention_verification_codes_days: int = Field(
        1, ge=0, description="Expired one-time codes are deleted this long after they expired.")
    retention_outbox_days: int = Field(
        30, ge=0, description="Outbox rows go this long after they were sent or given up.")
    retention_closed_requests_days: int = Field(
        1095, ge=0, description="Completed or rejected privacy requests go this long after "
        "they closed.")
    retention_complaints_days: int = Field(
        1095, ge=0, description="Answered complaints and inquiries go this long after the "
        "answer.")
    retention_idempotency_days: int = Field(
        1, ge=0, description="Idempotency records go this long after the request they answer.")
    retention_consent_history_days: int = Field(
        30, ge=0, description="Consent history of a deleted customer goes this long after the "
        "deletion.")
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the server runs the retention job.")
    retention_batch_size: int = Field(
        5000, ge=1, description="Rows the retention job deletes or anonymizes per transaction.")
    analytics_min_group: int = Field(
        10, ge=2, description="Smallest group (k) the analyst's aggregates show; smaller "
        "groups are suppressed.")
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
    smtp_connections: int = Field(
        4, ge=1, le=64, description="SMTP connections the outbox sends a batch over at once."
    )
    mail_dir: Path | None = Field(
        None, description="Folder for mail when no SMTP server is set; default <data_dir>/mail."
    )
    outbox_interval_seconds: float = Field(
        2.0, gt=0, description="How often the server delivers pending outbox messages."
    )
    outbox_max_attempts: int = Field(
        10, ge=1, description="Delivery attempts before an outbox message is given up."
    )
    sms_gateway_url: str | None = Field(
        None, description="HTTP SMS gateway messages are POSTed to; without one, SMS are "
        "written to the SMS folder."
    )
    sms_gateway_token: SecretStr | None = Field(
        None, description="Bearer token for the SMS gateway, if it wants one."
    )
    sms_dir: Path | None = Field(
        None, description="Folder for SMS when no gateway is set; default <data_dir>/sms."
    )
    notice_rate_per_second: float = Field(
        50.0, gt=0, description="Policy change notices scheduled per second (email and SMS)."
    )
    notice_interval_seconds: float = Field(
        10.0, gt=0, description="How often the server looks for unfinished policy notice runs."
    )

    docs_enabled: bool | None = Field(
        None, description="Serve /docs, /redoc and /openapi.json; default: on in development only."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body accepted; larger ones get 413."
    )
    max_header_bytes: int = Field(
        16_384, ge=1024, description="Largest total size of a request's headers; more get 431."
    )
    max_token_bytes: int = Field(
        4096, ge=256, description="Longest bearer token (Authorization header) accepted; 401."
    )
    jwt_max_lifetime_seconds: int = Field(
        86_400, ge=60, description="Longest token lifetime (exp - iat) accepted."
    )
    jwt_leeway_seconds: int = Field(
        30, ge=0, description="Clock skew allowed for a token's iat in the future."
    )
    rate_limit_enabled: bool = Field(True, description="Answer 429 when a rate limit is hit.")
    redis_url: str | None = Field(
        None, description="Redis shared by replicas for rate limits, e.g. redis://127.0.0.1:6379;"
        " without it, each process counts in memory."
    )
    rate_limit_reads: str = Field(
        "600/minute", description="GET requests per actor (limits notation, e.g. 10/second)."
    )
    rate_limit_writes: str = Field("120/minute", description="Other /v1 writes per actor.")
    rate_limit_rights_requests: str = Field(
        "10/hour", description="Rights requests filed (POST /v1/requests) per actor."
    )
    rate_limit_code_checks: str = Field(
        "30/hour", description="Verification code checks per actor."
    )
    rate_limit_complaints: str = Field(
        "10/hour", description="Complaints filed (POST /v1/complaints) per actor."
    )
    rate_limit_address_factor: int = Field(
        10, ge=1, description="Per client address, each limit times this factor."
    )
    rate_limit_role_factors: dict[str, int] = Field(
        default_factory=lambda: {"storefront": 100, "support_agent": 10,
                                 "logistics_partner": 20, "payment_partner": 20},
        description="Roles acting for many customers get their limits times this factor.",
    )

    partner_secret_grace_hours: int = Field(
        72, ge=0, description="After a partner's signing secret is rotated, webhooks are also "
        "signed with the old one for this many hours."
    )
    webhook_interval_seconds: float = Field(
        5.0, gt=0, description="How often the server delivers pending partner webhooks."
    )
    webhook_max_attempts: int = Field(
        12, ge=1, description="Delivery attempts before a partner webhook is given up."
    )
    webhook_replay_window_seconds: int = Field(
        300, ge=1, description="How old a webhook signature a receiver should still accept "
        "(documented for partners; used by `verify_signature`)."
    )
    destruction_confirm_days: int = Field(
        5, ge=0, description="Days a partner has to confirm destruction before the request "
        "is listed as unconfirmed for the privacy officer."
    )
    disclosure_interval_seconds: float = Field(
        60.0, gt=0, description="How often the server tells customers of legal disclosures "
        "whose bar ended."
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
        if self.sms_dir is None:
            self.sms_dir = self.data_dir / "sms"
        return self

    @property
    def serves_docs(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served."""
        if self.docs_enabled is None:
            return self.environment == "development"
        return self.docs_enabled

    @property
    def is_sqlite(self) -> bool:
        """Whether the embedded SQLite database is in use."""
        assert self.database_url is not None  # filled by `_fill_defaults`
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


def _refuse_unsafe_production(settings: Settings, missing: list[str]) -> None:
    """Raise `MissingSecrets` naming the first setting production cannot run with."""
    if missing:
        names = ", ".join(f"PRIVACY_{m.upper()}" for m in missing)
        raise MissingSecrets(f"production needs explicit secrets: {names}")
    for name in GENERATED_SECRETS:
        secret = getattr(settings, name)
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise MissingSecrets(
                f"PRIVACY_{name.upper()} must be at least {MIN_SECRET_BYTES} bytes in production")
    if settings.jwt_jwks_url and not settings.jwt_jwks_url.lower().startswith("https://"):
        raise MissingSecrets("PRIVACY_JWT_JWKS_URL must be an https:// URL in production")


def _new_dev_secrets() -> dict[str, Any]:
    generated: dict[str, Any] = {name: secrets.token_urlsafe(32) for name in GENERATED_SECRETS}
    generated["encryption_keys"] = {"dev1": base64.b64encode(os.urandom(32)).decode()}
    generated["audit_signing_key"] = base64.b64encode(os.urandom(32)).decode()
    return generated


def _load_dev_secrets(data_dir: Path) -> dict[str, Any]:
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
    if settings.environment == "production":
        _refuse_unsafe_production(settings, missing)
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
