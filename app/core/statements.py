"""Hot reads without the ORM: Core statements compiled once and run as the driver's own.

On PostgreSQL a statement is compiled once per dialect to its SQL text, parameter order and
parameter conversions, and then run on the pooled connection's asyncpg driver, which keeps it
prepared per connection: no SQLAlchemy execution context, result object or row processing per
request. Elsewhere (SQLite) the same Core statement runs through the session. Either way rows
are read by position, and nothing builds ORM entities.
"""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

from app.core.db import PING_ON_CHECKOUT

_REQUIRED = object()
"""Marks a parameter the statement has no value of: the caller must give it."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement compiled for the driver: its SQL and, in order, each parameter's name, its
    value in the statement (or `_REQUIRED`) and the conversion the column type asks for."""

    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's positional arguments for these parameters."""
        values = []
        for name, default, process in self.binds:
            value = params[name] if default is _REQUIRED else params.get(name, default)
            values.append(value if process is None else process(value))
        return values


@lru_cache(maxsize=512)
def prepared(statement: Executable, dialect: Dialect) -> Prepared:
    """`statement` compiled once for `dialect` (a positional-parameter dialect: asyncpg)."""
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required or bind.callable else bind.value
        binds.append((name, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    return Prepared(compiled.string, tuple(binds))


class Statements(Protocol):
    """The statements of one read, run on one connection."""

    inserts_in_reads: bool
    """Whether a read may insert through a data-modifying CTE (PostgreSQL)."""

    async def rows(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row the statement returns, each indexable by position."""

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        """Run a statement that returns nothing."""


class _OnSession:
    """Through the session, in its transaction (SQLite)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.inserts_in_reads = session.get_bind().dialect.name == "postgresql"

    async def rows(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        return (await self._session.execute(statement, params)).all()

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        await self._session.execute(statement, params)


class _OnDriver:
    """On the asyncpg connection under a pooled SQLAlchemy connection. A connection taken from
    the pool unpinged is proven by its first statement: if that finds it lost (the server
    ended it), the statement runs again once on a connection the pool pings."""

    inserts_in_reads = True

    def __init__(self, connection: AsyncConnection, driver: Any, *, proven: bool) -> None:
        self._connection, self._driver, self._proven = connection, driver, proven
        self._dialect = connection.dialect

    async def rows(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        ready = prepared(statement, self._dialect)
        result: Sequence[Any] = await self._run(ready, ready.arguments(params), fetch=True)
        return result

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        ready = prepared(statement, self._dialect)
        await self._run(ready, ready.arguments(params), fetch=False)

    async def _run(self, ready: Prepared, arguments: list[Any], *, fetch: bool) -> Any:
        call = self._driver.fetch if fetch else self._driver.execute
        try:
            return await call(ready.sql, *arguments)
        except Exception as exc:
            if self._proven or not self._lost(exc):
                raise await self._failed(ready.sql, exc) from exc
            await self._connection.invalidate(exc)
            self._driver = await _driver_of(self._connection)  # a pinged connection
            call = self._driver.fetch if fetch else self._driver.execute
            try:
                return await call(ready.sql, *arguments)
            except Exception as again:
                raise await self._failed(ready.sql, again) from again
        finally:
            self._proven = True

    def _lost(self, exc: Exception) -> bool:
        return self._driver.is_closed() or isinstance(exc, OSError)

    async def _failed(self, sql: str, exc: Exception) -> DBAPIError:
        """The error as SQLAlchemy would raise it; a lost connection leaves the pool."""
        lost = self._lost(exc)
        if lost:
            await self._connection.invalidate(exc)
        return DBAPIError(sql, None, exc, connection_invalidated=lost)


async def _driver_of(connection: AsyncConnection) -> Any:
    return (await connection.get_raw_connection()).driver_connection


def on_driver(session: AsyncSession) -> bool:
    """Whether the session's database runs statements on the driver (PostgreSQL, asyncpg)."""
    return session.get_bind().dialect.driver == "asyncpg"


@asynccontextmanager
async def statements(session: AsyncSession) -> AsyncIterator[Statements]:
    """One read's statements. On PostgreSQL on the driver: on the session's connection if it
    holds one (its transaction), else on a pooled connection of its own without a transaction,
    so each statement is atomic on its own and costs one round trip (the pool's ping is skipped:
    the first statement proves the connection). Elsewhere through the session, in the
    request's transaction."""
    if not on_driver(session):
        yield _OnSession(session)
        return
    if session.in_transaction():
        connection = await session.connection()
        yield _OnDriver(connection, await _driver_of(connection), proven=True)
        return
    engine = session.bind
    assert isinstance(engine, AsyncEngine)  # request sessions come from the engine's factory
    unpinged = PING_ON_CHECKOUT.set(False)  # the first statement proves the connection
    try:
        connection = await engine.connect()
    finally:
        PING_ON_CHECKOUT.reset(unpinged)
    try:
        yield _OnDriver(connection, await _driver_of(connection), proven=False)
    finally:
        await connection.close()
