"""The lean reads' own asyncpg connections, beside the engine's pool.

A read checks a connection out and back in a few dictionary and list operations: no
SQLAlchemy pool events or greenlet hops, no reset round trip (the reads leave no session
state: no transaction, SET, LISTEN or lock), and no task per return as asyncpg's own pool
spends. Connections are opened as needed, at most `size`; a read beyond waits for one to
come back, up to `POOL_TIMEOUT_SECONDS`, then gets the 503 a full engine pool gives.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.statements import OnDriver

POOL_TIMEOUT_SECONDS = 30.0
"""How long a read waits for a free connection (as long as for one of the engine's pool)."""
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func",
                    "async_creator_fn")


class DriverPool:
    """At most `size` asyncpg connections to the engine's database, the warmest lent first."""

    def __init__(self, engine: AsyncEngine, *, size: int) -> None:
        _, options = engine.dialect.create_connect_args(engine.url)
        for name in _SQLALCHEMY_ONLY:
            options.pop(name, None)
        self.dialect, self._options, self._size = engine.dialect, options, size
        self._idle: list[Any] = []
        self._open = 0  # connections lent, idle or being opened
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._closed = False

    @asynccontextmanager
    async def checkout(self) -> AsyncIterator[OnDriver]:
        """A connection for one read's statements, given back after them."""
        run = OnDriver(self.dialect, await self._acquire(), renew=self._renew)
        try:
            yield run
        finally:
            if run.driver is not None:
                self._give_back(run.driver)

    async def close(self) -> None:
        """Close the idle connections; lent ones are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self._open -= 1
            with suppress(Exception):
                await connection.close(timeout=1)

    async def _renew(self, lost: Any) -> Any:
        """A new connection in place of a lost one; the server may have ended them all."""
        for suspect in (lost, *self._idle):  # never lent again, even if they look open
            suspect.terminate()
            self._freed()
        self._idle = []
        return await self._acquire()

    async def _acquire(self) -> Any:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._freed()
                    raise
            connection = await self._wait()
            if connection is not None:
                return connection

    async def _wait(self) -> Any:
        """A connection handed back, or None when one was closed (a place to open one)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(POOL_TIMEOUT_SECONDS):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():  # handed over as the wait ended
                self._pass_on(waiter.result())
            waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(f"no database connection free in "
                                  f"{POOL_TIMEOUT_SECONDS:.0f} s") from exc
            raise

    async def _connect(self) -> Any:
        try:
            connection = await asyncpg.connect(**self._options)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DBAPIError("connect", None, exc, connection_invalidated=True) from exc
        adapted = SimpleNamespace(_connection=connection)  # the shape SQLAlchemy's setup reads
        await self.dialect.setup_asyncpg_json_codec(adapted)  # type: ignore[attr-defined]
        await self.dialect.setup_asyncpg_jsonb_codec(adapted)  # type: ignore[attr-defined]
        return connection

    def _give_back(self, connection: Any) -> None:
        if self._closed or connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
            self._freed()
        elif not self._hand(connection):
            self._idle.append(connection)

    def _freed(self) -> None:
        """One connection fewer: a waiter may open one in its place."""
        self._open -= 1
        self._hand(None)

    def _pass_on(self, handed: Any) -> None:
        """What a waiter got but cannot use: a connection, or the place to open one."""
        if handed is None:
            self._hand(None)
        else:
            self._give_back(handed)

    def _hand(self, handed: Any) -> bool:
        """Give the first live waiter a connection, or None (the place to open one)."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(handed)
                return True
        return False
