"""EXPLAIN ANALYZE of the officer's `GET /v1/requests?overdue=true` at a million requests.

Replaces the privacy requests of a seeded PostgreSQL benchmark database (default `bench_scale`,
seeded by `run.py --customers ...`; at least one customer is needed) with `--requests`
set-based rows (see `scale_seed.py`), then runs the app's own repository call for the first
page and for the page after it, captures the SQL and parameters it sends, and prints
`EXPLAIN (ANALYZE, BUFFERS)` of each, run with the same parameters.
"""

import argparse
import asyncio
import sys
import time

import asyncpg
from measure import HOST
from scale_seed import fill_requests
from sqlalchemy import event

from app.core.config import Settings
from app.core.db import create_engine, session_factory, utcnow
from app.core.security import Actor
from app.policy.roles import Role
from app.requests import repository


async def explain(url: str, dsn: str, limit: int) -> None:
    """Capture the first two pages' statements and EXPLAIN ANALYZE each."""
    engine = create_engine(Settings(database_url=url))
    captured: list[tuple[str, tuple]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        captured.append((statement, tuple(parameters)))

    officer = Actor(sub="officer-1", role=Role.PRIVACY_OFFICER)
    sessions = session_factory(engine)
    cursor = None
    try:
        for page in (1, 2):
            async with sessions() as session:
                started = time.perf_counter()
                rows, cursor = await repository.list_readable(
                    session, officer, state=None, type_=None, overdue_at=utcnow(),
                    cursor=cursor, limit=limit)
                elapsed = 1000 * (time.perf_counter() - started)
                statement, parameters = captured[-1]
                print(f"\n-- page {page}: {len(rows)} rows in {elapsed:.1f} ms through the app\n"
                      f"{statement}\n-- parameters: {parameters}")
            connection = await asyncpg.connect(dsn)
            try:
                plan = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}",
                                              *parameters)
            finally:
                await connection.close()
            print("\n".join(row[0] for row in plan))
            if cursor is None:
                break
    finally:
        await engine.dispose()


async def main_async(args: argparse.Namespace) -> None:
    """Seed the requests, then explain."""
    dsn = f"postgresql://postgres@{HOST}:5432/{args.database_name}"
    connection = await asyncpg.connect(dsn)
    try:
        if not args.no_seed:
            customers = await connection.fetchval("SELECT count(*) FROM customer")
            await fill_requests(connection, requests=args.requests, customers=customers,
                                open_percent=args.open_percent, open_days=args.open_days)
            await connection.execute("VACUUM ANALYZE privacy_request")
        counts = await connection.fetch(
            "SELECT state, count(*) AS n, count(*) FILTER (WHERE due_at < now()) AS overdue "
            "FROM privacy_request GROUP BY state ORDER BY state")
        print("requests by state (overdue):",
              ", ".join(f"{r['state']} {r['n']:,} ({r['overdue']:,})" for r in counts))
    finally:
        await connection.close()
    await explain(dsn.replace("postgresql:", "postgresql+asyncpg:", 1), dsn, args.limit)


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-name", default="bench_scale")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--open-percent", type=int, default=2,
                        help="share of requests still open (the rest completed)")
    parser.add_argument("--open-days", type=int, default=40,
                        help="open requests were received over this many last days (due after 30)")
    parser.add_argument("--limit", type=int, default=50, help="page size, as the API's default")
    parser.add_argument("--no-seed", action="store_true", help="keep the requests already there")
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
