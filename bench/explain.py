"""EXPLAIN ANALYZE of the officer's request and complaint lists at a million rows.

With `--customers N` the database (`--database-name`, default `bench_lists`) is dropped,
recreated, migrated and given N customers alone (set-based, `scale_seed.fill_customers`);
without it, a database seeded earlier is reused (e.g. `bench_scale` of `run.py --customers`).
Then `--requests` privacy requests and `--complaints` complaints replace what those tables held
(set-based; `--open-percent` % of them open, received over the last `--open-days` days; see
`scale_seed.py`), unless `--no-seed`.

For each list the app itself is asked, in-process over HTTP (token, gate, audit entries and
all), for its first page and for a page deep in the list: the one after the row half way down,
whose cursor is made as the app makes its cursors. The SELECT the app sends is captured and run
again under `EXPLAIN (ANALYZE, BUFFERS)` with the same parameters; printed per page are the
plan, the milliseconds through the app (median of `--repeat` calls) and the statement's own
execution time, then a summary table.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from measure import HOST, load_average
from scale_seed import fill_complaints, fill_customers, fill_requests
from seed import recreate_postgres
from sqlalchemy import Select, event, func, select

from app.complaints import repository as complaints
from app.core.config import Settings, resolve_secrets
from app.core.crypto import keys_from_settings
from app.core.db import utcnow
from app.core.migrations import upgrade
from app.core.pagination import encode_cursor
from app.core.security import Actor, mint_token
from app.main import create_app
from app.policy.roles import Role
from app.requests import repository as requests

DATA = Path(__file__).resolve().parent / ".data"
OFFICER = Actor(sub="officer-1", role=Role.PRIVACY_OFFICER)
Ordered = tuple[Select, tuple]


@dataclass(frozen=True)
class Listing:
    """One officer list: its route and filters, and its statement and order as the app builds
    them (to find a position deep in it)."""

    label: str
    path: str
    params: dict[str, str]
    query: Callable[[datetime], Ordered]

    @property
    def table(self) -> str:
        return "privacy_request" if self.path == "/v1/requests" else "complaint"


def _requests(**filters: Any) -> Callable[[datetime], Ordered]:
    overdue = filters.pop("overdue", False)
    return lambda now: (requests.listed(OFFICER, overdue_at=now if overdue else None,
                                        **{"state": None, "type_": None, **filters}),
                        requests.order_of(overdue=overdue))


def _complaints(**filters: Any) -> Callable[[datetime], Ordered]:
    overdue = filters.pop("overdue", False)
    return lambda now: (complaints.listed(OFFICER, overdue_at=now if overdue else None,
                                          **{"answered": None, **filters}),
                        complaints.order_of(overdue=overdue))


LISTS = (
    Listing("requests", "/v1/requests", {}, _requests()),
    Listing("requests, state=verified", "/v1/requests", {"state": "verified"},
            _requests(state="verified")),
    Listing("requests, type=deletion", "/v1/requests", {"type": "deletion"},
            _requests(type_="deletion")),
    Listing("requests, state=verified&type=correction", "/v1/requests",
            {"state": "verified", "type": "correction"},
            _requests(state="verified", type_="correction")),
    Listing("requests, overdue=true", "/v1/requests", {"overdue": "true"},
            _requests(overdue=True)),
    Listing("complaints", "/v1/complaints", {}, _complaints()),
    Listing("complaints, answered=false", "/v1/complaints", {"answered": "false"},
            _complaints(answered=False)),
    Listing("complaints, overdue=true", "/v1/complaints", {"overdue": "true"},
            _complaints(overdue=True)),
)


@dataclass
class Measured:
    """One page: time through the app and the plan of the SELECT it sent."""

    listing: str
    page: str
    app_ms: float
    sql_ms: float
    buffers: int
    scans: str
    sorted: bool


def _walk(node: dict) -> list[dict]:
    return [node, *(n for child in node.get("Plans", []) for n in _walk(child))]


async def _deep_cursor(app, listing: Listing) -> tuple[str | None, int]:
    """The cursor after the row half way down the list, and how many rows the list holds."""
    stmt, (moment, row_id) = listing.query(utcnow())
    async with app.state.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        row = (await session.execute(stmt.with_only_columns(moment, row_id)
                                     .order_by(moment, row_id).offset(total // 2).limit(1))
               ).first()
    return (encode_cursor(row[0], row[1], moment.key) if row else None), total


async def _page(app, client: httpx.AsyncClient, dsn: str, listing: Listing, *,
                cursor: str | None, limit: int, repeat: int, label: str) -> Measured:
    sent: list[tuple[str, tuple]] = []

    def capture(conn, cursor_, statement, parameters, context, executemany) -> None:
        if statement.lstrip().startswith("SELECT") and f"FROM {listing.table}" in statement:
            sent.append((statement, tuple(parameters)))

    params = {**listing.params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", capture)
    try:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = await client.get(listing.path, params=params)
            times.append(1000 * (time.perf_counter() - started))
            response.raise_for_status()
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = sent[-1]
    connection = await asyncpg.connect(dsn)
    try:
        text = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
        document = json.loads(await connection.fetchval(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", *parameters))[0]
    finally:
        await connection.close()
    nodes = _walk(document["Plan"])
    measured = Measured(
        listing=listing.label, page=label, app_ms=statistics.median(times),
        sql_ms=document["Execution Time"], buffers=sum(
            document["Plan"].get(f"Shared {kind} Blocks", 0) for kind in ("Hit", "Read")),
        scans=", ".join(sorted({f"{n['Node Type']} {n.get('Index Name', n.get('Relation Name'))}"
                                for n in nodes if "Scan" in n["Node Type"]})),
        sorted=any("Sort" in n["Node Type"] for n in nodes))
    print(f"\n-- {listing.label}, {label}: {len(response.json()['items'])} rows, "
          f"{measured.app_ms:.1f} ms through the app (median of {repeat})\n{statement}\n"
          f"-- parameters: {parameters}\n" + "\n".join(row[0] for row in text), flush=True)
    return measured


async def explain(settings: Settings, dsn: str, *, limit: int, repeat: int) -> list[Measured]:
    """Every list's first and deep page through the app, each statement explained."""
    app = create_app(settings, background_tasks=False)
    token = mint_token(resolve_secrets(settings), role=Role.PRIVACY_OFFICER, sub="officer-1")
    measured = []
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench",
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "oversight"},
            timeout=600) as client:
        for listing in LISTS:
            deep, total = await _deep_cursor(app, listing)
            print(f"\n## {listing.label}: {total:,} rows in the list", flush=True)
            measured.append(await _page(app, client, dsn, listing, cursor=None, limit=limit,
                                        repeat=repeat, label="first page"))
            if deep:
                measured.append(await _page(app, client, dsn, listing, cursor=deep, limit=limit,
                                            repeat=repeat, label=f"after row {total // 2:,}"))
    return measured


async def seed(dsn: str, settings: Settings, args: argparse.Namespace) -> None:
    """Fill the tables the lists read (customers only with --customers), then analyze."""
    keys = keys_from_settings(resolve_secrets(settings))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET synchronous_commit = off; "
                                 "SET maintenance_work_mem = '512MB'")
        if args.customers:
            await fill_customers(connection, keys, customers=args.customers)
        customers = await connection.fetchval("SELECT count(*) FROM customer")
        shape = {"customers": customers, "open_percent": args.open_percent,
                 "open_days": args.open_days}
        if args.requests:
            await fill_requests(connection, requests=args.requests, **shape)
        if args.complaints:
            await fill_complaints(connection, keys, complaints=args.complaints, **shape)
        started = time.monotonic()
        await connection.execute("VACUUM ANALYZE customer, privacy_request, complaint")
        print(f"  VACUUM ANALYZE in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await connection.close()


COUNTED = {  # table: (grouped by, still open)
    "privacy_request": ("state", "state IN ('awaiting_verification', 'verified')"),
    "complaint": ("CASE WHEN answered_at IS NULL THEN 'unanswered' ELSE 'answered' END",
                  "answered_at IS NULL"),
}


async def describe(dsn: str) -> None:
    """What the tables hold: requests by state, complaints answered or not (overdue)."""
    connection = await asyncpg.connect(dsn)
    try:
        for table, (group, still_open) in COUNTED.items():
            counts = await connection.fetch(
                f"SELECT {group} AS g, count(*) AS n, count(*) FILTER (WHERE {still_open} AND "
                f"due_at < now()) AS late FROM {table} GROUP BY 1 ORDER BY 1")
            print(f"{table} (overdue): " + ", ".join(
                f"{r['g']} {r['n']:,} ({r['late']:,})" for r in counts), flush=True)
    finally:
        await connection.close()


def print_summary(measured: list[Measured]) -> None:
    """The pages as a Markdown table."""
    print("\n| list | page | through the app | SELECT | buffers | scans | sort |\n"
          "|---|---|---:|---:|---:|---|---|")
    for m in measured:
        print(f"| {m.listing} | {m.page} | {m.app_ms:.1f} ms | {m.sql_ms:.2f} ms | {m.buffers} "
              f"| {m.scans} | {'yes' if m.sorted else 'no'} |")


async def main_async(args: argparse.Namespace) -> None:
    """Create or reuse the database, seed, explain."""
    url = f"postgresql+asyncpg://postgres@{HOST}:5432/{args.database_name}"
    dsn = url.replace("postgresql+asyncpg:", "postgresql:", 1)
    settings = Settings(data_dir=DATA / args.database_name, database_url=url,
                        rate_limit_reads="10000000/minute")
    print(f"load average before: {load_average()}", flush=True)
    if args.customers:
        await recreate_postgres(url)
        await asyncio.to_thread(upgrade, url)
    if not args.no_seed:
        await seed(dsn, settings, args)
    await describe(dsn)
    measured = await explain(settings, dsn, limit=args.limit, repeat=args.repeat)
    print_summary(measured)
    print(f"\nload average after: {load_average()}", flush=True)


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-name", default="bench_lists")
    parser.add_argument("--customers", type=int, default=0,
                        help="drop and recreate the database with this many customers alone")
    parser.add_argument("--requests", type=int, default=1_000_000,
                        help="at most the customers (one open request per customer and type)")
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--open-percent", type=int, default=2,
                        help="share of requests and complaints still open")
    parser.add_argument("--open-days", type=int, default=40,
                        help="open ones were received over this many last days")
    parser.add_argument("--limit", type=int, default=50, help="page size, as the API's default")
    parser.add_argument("--repeat", type=int, default=5, help="calls per page through the app")
    parser.add_argument("--no-seed", action="store_true", help="keep the rows already there")
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
