"""Alembic environment: the URL comes from settings, migrations run on the async engine."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit.partitions import include_name
from app.core.config import Settings, async_database_url
from app.models import Base

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
# Replicas starting together migrate one at a time: the others wait here, then find the schema
# at head and do nothing (an arbitrary constant, the same for every process of this service).
MIGRATION_LOCK_KEY = 0x70726976


def _url() -> str:
    return async_database_url(config.attributes.get("database_url") or Settings().database_url)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    if connection.dialect.name != "postgresql":
        _migrate(connection)
        return
    lock = {"key": MIGRATION_LOCK_KEY}
    connection.execute(text("SELECT pg_advisory_lock(:key)"), lock)
    connection.commit()  # the lock belongs to the session; migrations get their own transaction
    try:
        _migrate(connection)
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
        connection.commit()


async def _run_online() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
