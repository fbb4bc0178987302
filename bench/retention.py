"""Benchmark of the retention job: seed a million expired rows set-based in PostgreSQL, run
the job, report rows per second and peak memory.

    .venv/bin/python bench/retention.py [--rows 1000000] [--batch 5000]

Creates (drops first) the database `bench_retention` on the server of `--server` (default
`postgresql://postgres@127.0.0.1:5432`), migrates it, seeds with `generate_series`, then runs
the job as `privacy-api retention run` would and runs it a second time (idempotent: 0 rows).
100 live customers are under a legal hold, so their rows stay.
"""

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings, async_database_url
from app.core.db import create_engine, session_factory
from app.core.migrations import upgrade
from app.retention import job
from app.retention.schedule import periods

DATABASE = "bench_retention"
OLD = "now() - interval '5000 days'"
SHARES = {"message": 0.3, "outbox_message": 0.3, "complaint": 0.1, "shop_order": 0.1,
          "idempotency_record": 0.1, "consent_event": 0.1}
"""How the expired rows spread over the tables (order items come on top, one per order)."""


def _seed_sql(counts: dict[str, int], customers: int) -> list[str]:
    live = f"md5('c' || ((g % {customers // 2}) * 2 + 1))::uuid::text"
    erased = f"md5('c' || ((g % {customers // 2}) * 2 + 2))::uuid::text"
    return [
        f"""INSERT INTO customer (id, created_at, updated_at, erased_at)
            SELECT md5('c' || g)::uuid::text, {OLD}, {OLD},
                   CASE WHEN g % 2 = 0 THEN {OLD} END
            FROM generate_series(1, {customers}) g""",
        f"""INSERT INTO message (id, customer_id, channel, direction, body_enc, occurred_at,
                                 created_at)
            SELECT md5('m' || g)::uuid::text, {live}, 'email', 'inbound', 'x', {OLD}, {OLD}
            FROM generate_series(1, {counts['message']}) g""",
        f"""INSERT INTO outbox_message (id, kind, customer_id, created_at, attempts,
                                        next_attempt_at, sent_at)
            SELECT md5('o' || g)::uuid::text, 'order_status', {live}, {OLD}, 1, {OLD}, {OLD}
            FROM generate_series(1, {counts['outbox_message']}) g""",
        f"""INSERT INTO complaint (id, customer_id, kind, body_enc, received_at, due_at,
                                   answer_enc, answered_at, answered_by)
            SELECT md5('p' || g)::uuid::text, {live}, 'inquiry', 'x', {OLD}, {OLD}, 'x', {OLD},
                   'agent-7'
            FROM generate_series(1, {counts['complaint']}) g""",
        f"""INSERT INTO shop_order (id, order_number, customer_id, ship_country, ship_city,
                                    total_amount, currency, payment_method, payment_status,
                                    fulfilment_status, placed_at, delivered_at, created_at,
                                    updated_at, pseudonymized_at, erase_ship_to_on_arrival)
            SELECT md5('s' || g)::uuid::text, 'HG-B-' || g, {erased}, 'CN', 'Shenzhen', 9,
                   'EUR', 'paypal', 'paid', 'delivered', {OLD}, {OLD}, {OLD}, {OLD}, {OLD},
                   false
            FROM generate_series(1, {counts['shop_order']}) g""",
        f"""INSERT INTO order_item (id, order_id, position, product_name, quantity, unit_price)
            SELECT md5('i' || g)::uuid::text, md5('s' || g)::uuid::text, 0, 'Dog chew rope',
                   1, 9
            FROM generate_series(1, {counts['shop_order']}) g""",
        f"""INSERT INTO idempotency_record (actor_id, key, fingerprint, status_code,
                                            created_at)
            SELECT 'storefront-1', 'key-' || g, md5('f' || g), 201, {OLD}
            FROM generate_series(1, {counts['idempotency_record']}) g""",
        f"""INSERT INTO consent_event (id, customer_id, purpose, granted, changed_at,
                                       changed_by_role)
            SELECT md5('e' || g)::uuid::text, {erased}, 'notifications', true, {OLD},
                   'customer'
            FROM generate_series(1, {counts['consent_event']}) g""",
        """INSERT INTO legal_hold (id, customer_id, reason, reference, placed_at, placed_by)
            SELECT md5('h' || g)::uuid::text, md5('c' || (g * 2 + 1))::uuid::text,
                   'Benchmark hold', 'B-' || g, now(), 'dpo'
            FROM generate_series(1, 100) g""",
        "ANALYZE",
    ]


async def _recreate(server: str) -> str:
    admin = create_async_engine(async_database_url(f"{server}/postgres"),
                                isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        await connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    await admin.dispose()
    return async_database_url(f"{server}/{DATABASE}")


async def _seed(url: str, rows: int) -> dict[str, int]:
    counts = {table: int(rows * share) for table, share in SHARES.items()}
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for statement in _seed_sql(counts, customers=max(rows // 10, 1000)):
            await connection.execute(text(statement))
    await engine.dispose()
    return counts


async def _run(url: str, batch: int) -> tuple[job.RunReport, float, job.RunReport]:
    settings = Settings(_env_file=None, database_url=url)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        started = time.perf_counter()
        report = await job.run(sessions, periods(settings), batch=batch, progress=_progress)
        elapsed = time.perf_counter() - started
        again = await job.run(sessions, periods(settings), batch=batch)
    finally:
        await engine.dispose()
    return report, elapsed, again


def _progress(category, action, rows) -> None:
    if rows % 100_000 < 5000:
        print(f"  {category}: {rows} {action}d", file=sys.stderr)


def main() -> int:
    """Seed, run, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    url = asyncio.run(_recreate(args.server))
    upgrade(url)
    started = time.perf_counter()
    counts = asyncio.run(_seed(url, args.rows))
    print(f"seeded {sum(counts.values())} expired rows (+{counts['shop_order']} order items) "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    report, elapsed, again = asyncio.run(_run(url, args.batch))
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ended = sum(c.rows for c in report.categories)
    print(f"retention run: {ended} rows in {elapsed:.1f} s = {ended / elapsed:,.0f} rows/s "
          f"(batch {args.batch})")
    for result in report.categories:
        print(f"  {result.category:<22} {result.rows:>9} {result.action}d")
    print(f"peak memory: Python allocations {python_peak / 2**20:.1f} MiB during the run; "
          f"process RSS {rss_before / 1024:.0f} MiB before, {rss_peak / 1024:.0f} MiB peak")
    print(f"second run: {sum(c.rows for c in again.categories)} rows (idempotent)")
    return 0 if ended and not any(c.rows for c in again.categories) else 1


if __name__ == "__main__":
    sys.exit(main())
