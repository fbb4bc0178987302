"""Hot reads without the ORM: Core statements compiled once and run as the driver's own.

On PostgreSQL a statement is compiled once per dialect to its SQL text, parameter order and
parameter conversions, and then run on an asyncpg connection, which keeps it prepared per
connection: no SQLAlchemy execution context, result object or row processing per request.
Outside a transaction that connection comes from the app's `DriverPool`, so a read costs its
statement alone. Elsewhere (SQLite) the same Core statement runs through the session. Either
way rows are read by position, and nothing builds ORM entities.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

DRIVER_POOL = "driver_pool"
"""The key of a session's `info` naming the `DriverPool` its lean reads use."""

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


class OnDriver:
    """On an asyncpg connection. One taken from the driver pool unproven is proven by its first
    statement: if that finds it lost (the server ended it), the pool's connections are renewed
    and the statement runs again once on a new one."""

    inserts_in_reads = True

    def __init__(self, dialect: Dialect, driver: Any, *,
                 renew: Callable[[Any], Awaitable[Any]] | None) -> None:
        self._dialect, self.driver, self._renew = dialect, driver, renew

    async def rows(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        ready = prepared(statement, self._dialect)
        result: Sequence[Any] = await self._run(ready, ready.arguments(params), fetch=True)
        return result

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        ready = prepared(statement, self._dialect)
        await self._run(ready, ready.arguments(params), fetch=False)

    async def _run(self, ready: Prepared, arguments: list[Any], *, fetch: bool) -> Any:
        renew, self._renew = self._renew, None  # proven from here on
        try:
            return await self._call(ready, arguments, fetch=fetch)
        except Exception as exc:
            if renew is None or not self._lost(exc):
                raise self._failed(ready.sql, exc) from exc
            lost, self.driver = self.driver, None
            self.driver = await renew(lost)
        try:
            return await self._call(ready, arguments, fetch=fetch)
        except Exception as again:
            raise self._failed(ready.sql, again) from again

    def _call(self, ready: Prepared, arguments: list[Any], *, fetch: bool) -> Any:
        return (self.driver.fetch if fetch else self.driver.execute)(ready.sql, *arguments)

    def _lost(self, exc: Exception) -> bool:
        return self.driver.is_closed() or isinstance(exc, OSError)

    def _failed(self, sql: str, exc: Exception) -> DBAPIError:
        """The error as SQLAlchemy would raise it (a lost connection: invalidated)."""
        return DBAPIError(sql, None, exc, connection_invalidated=self._lost(exc))


def on_driver(session: AsyncSession) -> bool:
    """Whether the session's database runs statements on the driver (PostgreSQL, asyncpg)."""
    return session.get_bind().dialect.driver == "asyncpg"


@asynccontextmanager
async def statements(session: AsyncSession) -> AsyncIterator[Statements]:
    """One read's statements. On PostgreSQL on the driver: on the session's connection if it
    holds one (its transaction) or has no driver pool, else on a connection of the driver pool
    without a transaction, so each statement is atomic on its own and costs one round trip.
    Elsewhere through the session, in the request's transaction."""
    if not on_driver(session):
        yield _OnSession(session)
        return
    pool = session.info.get(DRIVER_POOL)
    if pool is None or session.in_transaction():
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        yield OnDriver(connection.dialect, driver, renew=None)
        return
    async with pool.checkout() as run:
        yield run
