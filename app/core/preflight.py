"""Configuration checks run before anything migrates or serves: one line per problem.

Each problem names the `PRIVACY_*` setting and what is wrong with it, so an operator can fix
the configuration without reading a traceback.
"""

import asyncio
import base64
import binascii
import logging
import os
import re
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import MissingSecrets, Settings, resolve_secrets

ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
CONNECT_TIMEOUT_SECONDS = 5.0
_FIELD_IN_MESSAGE = re.compile(r'field "(\w+)"')


class ConfigurationError(Exception):
    """The configuration has problems; `problems` holds one line for each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _variable(field: str) -> str:
    return f"PRIVACY_{field.upper()}"


def load_settings() -> Settings:
    """Read settings from the environment, or raise `ConfigurationError`."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError([
            f"{_variable(str(error['loc'][0]))}: {error['msg']}" if error["loc"]
            else f"settings: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        ]) from None
    except SettingsError as exc:
        found = _FIELD_IN_MESSAGE.search(str(exc))
        name = _variable(found.group(1)) if found else "settings"
        raise ConfigurationError([f"{name}: not valid JSON"]) from None


def _data_dir_problem(data_dir: Path) -> str | None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"PRIVACY_DATA_DIR: cannot create folder {data_dir} ({exc.strerror})"
    if not os.access(data_dir, os.W_OK | os.X_OK):
        return f"PRIVACY_DATA_DIR: folder {data_dir} is not writable"
    return None


def _key_problems(settings: Settings) -> list[str]:
    problems = []
    for key_id, key in settings.encryption_keys.items():
        try:
            raw = base64.b64decode(key.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"PRIVACY_ENCRYPTION_KEYS: key {key_id!r} is not base64")
            continue
        if len(raw) != 32:
            problems.append(f"PRIVACY_ENCRYPTION_KEYS: key {key_id!r} is {len(raw)} bytes; "
                            "AES-256 needs 32")
        if "." in key_id:
            problems.append(f"PRIVACY_ENCRYPTION_KEYS: key id {key_id!r} must not contain '.'")
    return problems


def _secret_problems(exc: MissingSecrets) -> list[str]:
    message = str(exc)
    prefix = "production needs explicit secrets: "
    if not message.startswith(prefix):
        return [message]
    return [f"{name}: required when PRIVACY_ENVIRONMENT=production"
            for name in message[len(prefix):].split(", ")]


def _log_level_problem(level: str) -> str | None:
    if isinstance(logging.getLevelName(level.upper()), int):
        return None
    return f"PRIVACY_LOG_LEVEL: {level!r} is not a log level (DEBUG, INFO, WARNING, ERROR)"


def _database_url_problem(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "PRIVACY_DATABASE_URL: not a database URL (e.g. postgresql://user@host/db)"
    if parsed.drivername not in ASYNC_DRIVERS:
        return (f"PRIVACY_DATABASE_URL: unsupported database {parsed.drivername!r}; "
                "use postgresql://... or sqlite:///...")
    return None


async def _ping(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _connection_problem(url: str) -> str | None:
    try:
        asyncio.run(_ping(url))
    except TimeoutError:
        reason = f"no answer within {CONNECT_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # every driver error means the same thing to the operator
        reason = type(exc).__name__
    else:
        return None
    where = make_url(url).render_as_string(hide_password=True)
    return f"PRIVACY_DATABASE_URL: cannot connect to {where} ({reason})"


def check(settings: Settings, *, connect: bool = True) -> Settings:
    """Return settings with secrets resolved, or raise `ConfigurationError` listing problems."""
    problems = []
    assert settings.database_url is not None  # filled by the settings' validator
    data_dir_problem = _data_dir_problem(settings.data_dir)
    if data_dir_problem:
        problems.append(data_dir_problem)
    url_problem = _database_url_problem(settings.database_url)
    if url_problem:
        problems.append(url_problem)
    problems += _key_problems(settings)
    log_level_problem = _log_level_problem(settings.log_level)
    if log_level_problem:
        problems.append(log_level_problem)
    resolved = settings
    if not data_dir_problem:
        try:
            resolved = resolve_secrets(settings)
        except MissingSecrets as exc:
            problems += _secret_problems(exc)
    if connect and not url_problem and not (settings.is_sqlite and problems):
        connection_problem = _connection_problem(settings.database_url)
        if connection_problem:
            problems.append(connection_problem)
    if problems:
        raise ConfigurationError(problems)
    return resolved
