"""Database engine, declarative base and column types shared by every domain."""

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import DateTime, MetaData, String, Table, event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention from the first migration on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:  # every model maps a Table (SQLAlchemy types it as any FromClause)
        __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new random identifier."""
    return str(uuid.uuid4())


def id_column() -> Mapped[str]:
    """Primary key column holding a UUID string."""
    return mapped_column(String(36), primary_key=True, default=new_id)


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Ping each connection as it leaves the pool, as `pool_pre_ping` would; a lost one
    invalidates the pool, so every connection the server dropped (restart, failover) is
    replaced, not used."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection, _record, _proxy) -> None:
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError(str(error)) from error
            raise


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and write-ahead locking."""
    assert settings.database_url is not None  # filled by the settings' validator
    if not settings.is_sqlite:
        engine = create_async_engine(settings.database_url, pool_size=settings.db_pool_size,
                                     max_overflow=0)
        _ping_on_checkout(engine)
        return engine
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # SQLite has one writer at a time and every request writes its audit entry: one connection,
    # with requests queueing fairly for it, beats many connections polling for the file lock.
    engine = create_async_engine(settings.database_url, connect_args={"timeout": 30},
                                 pool_size=1, max_overflow=0, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:
        # Every request writes its audit entry, so take the write lock up front: a deferred
        # transaction that reads and then writes fails at once when another writer got there first.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine, info: dict | None = None
                    ) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (`info`: what each session carries)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)
