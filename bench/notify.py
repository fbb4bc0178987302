"""Benchmark the policy notice run: N synthetic customers, one significant version.

Seeds a fresh database with N customers (emails and phones encrypted for real with the app's
cipher, generated in Python in chunks and bulk-inserted with executemany: no ORM loop), then
runs `app.policies.notices.notify` in a child process and reports notices queued per second
and that process's peak memory (resource.getrusage ru_maxrss). Optionally delivers a sample
of the queued messages to the mail and SMS folders and reports messages sent per second.

    .venv/bin/python bench/notify.py                      # 1,000,000 customers on SQLite
    .venv/bin/python bench/notify.py --customers 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/privacy_bench_notify
"""

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seed import recreate_postgres
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from app.core.config import Settings, resolve_secrets
from app.core.crypto import keys_from_settings
from app.core.db import create_engine, session_factory
from app.core.migrations import upgrade
from app.identity.models import Customer
from app.identity.readers import EMAIL, NAME, PHONE
from app.policies.models import PolicyVersion

CHUNK = 10_000
PHONE_ONLY_EVERY = 10  # every 10th customer has only a phone: an SMS
NO_CONTACT_EVERY = 97  # and a few have no contact at all


def _customers(keys, start: int, count: int) -> list[dict]:
    """Column values of customers start..start+count, contacts encrypted."""
    cipher, now, rows = keys.cipher, datetime.now(UTC), []
    for n in range(start, start + count):
        email = None if n % PHONE_ONLY_EVERY == 0 or n % NO_CONTACT_EVERY == 0 \
            else f"customer.{n}@example.com"
        phone = None if n % NO_CONTACT_EVERY == 0 else f"+4915{n:09d}"
        row_id = str(uuid.uuid4())
        rows.append({
            "id": row_id,
            "name_enc": cipher.encrypt(f"Customer {n}", context=NAME, row_id=row_id),
            "email_enc": cipher.encrypt(email, context=EMAIL, row_id=row_id) if email else None,
            "email_index": keys.email_index(email) if email else None,
            "phone_enc": cipher.encrypt(phone, context=PHONE, row_id=row_id) if phone else None,
            "created_at": now, "updated_at": now})
    return rows


async def _seed(settings: Settings, customers: int) -> None:
    keys = keys_from_settings(settings)
    engine = create_engine(settings)
    try:
        for start in range(0, customers, CHUNK):
            rows = _customers(keys, start, min(CHUNK, customers - start))
            async with engine.begin() as connection:
                await connection.execute(insert(Customer), rows)
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(insert(PolicyVersion), [{
                "version": 2, "label": "Benchmark", "text": "# Policy", "significant": True,
                "summary": "We now share the order number with Klarna.",
                "published_at": now, "effective_at": now + timedelta(days=8),
                "published_by": "bench"}])
        if not settings.is_sqlite:
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


def _fresh(settings: Settings) -> None:
    if settings.is_sqlite:
        path = Path(make_url(settings.database_url).database)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        asyncio.run(recreate_postgres(settings.database_url))
    upgrade(settings.database_url)


async def _notify(settings: Settings, batch: int, deliver_seconds: float) -> None:
    """The measured part, run in a child process so its peak memory is its own."""
    from app.outbox.dispatcher import deliver_pending
    from app.outbox.mailer import sender_from_settings
    from app.outbox.models import OutboxMessage
    from app.policies.notices import notify

    keys = keys_from_settings(settings)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    started = time.perf_counter()
    shown = [started]

    def progress(report) -> None:
        if time.perf_counter() - shown[0] >= 10:
            shown[0] = time.perf_counter()
            print(f"  {report.queued:,} queued, {report.queued / (shown[0] - started):,.0f}/s, "
                  f"peak RSS {_peak_mib():.0f} MiB", flush=True)

    report = await notify(sessions, keys, version=2, rate_per_second=1e9, batch=batch,
                          on_batch=progress)
    elapsed = time.perf_counter() - started
    print(f"notify: {report.queued:,} notices ({report.email:,} email, {report.sms:,} sms) "
          f"in {elapsed:.1f} s = {report.queued / elapsed:,.0f} notices/s; "
          f"peak RSS {_peak_mib():.0f} MiB", flush=True)
    if deliver_seconds:
        started = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(deliver_pending(
                sessions, keys, sender_from_settings(settings), max_attempts=3, batch=200),
                timeout=deliver_seconds)
        elapsed = time.perf_counter() - started
        async with sessions() as session:
            sent = await session.scalar(select(func.count(OutboxMessage.id))
                                        .where(OutboxMessage.sent_at.is_not(None)))
        print(f"deliver: {sent:,} messages written to the mail and SMS folders in "
              f"{elapsed:.1f} s = {sent / elapsed:,.0f} messages/s", flush=True)
    await engine.dispose()


def _peak_mib() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    """Seed, then measure the notice run in a child process."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a new SQLite file in --data-dir")
    parser.add_argument("--data-dir", type=Path, help="secrets, SQLite file, mail and SMS "
                                                      "folders; default: a new temp folder")
    parser.add_argument("--batch", type=int, default=500, help="customers per transaction")
    parser.add_argument("--deliver-seconds", type=float, default=0,
                        help="afterwards, deliver to the folders for this long")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="privacy-notify-bench-"))
    settings = resolve_secrets(Settings(_env_file=None, data_dir=data_dir,
                                        database_url=args.database_url))
    if args.measure_only:
        asyncio.run(_notify(settings, args.batch, args.deliver_seconds))
        return 0
    print(f"seeding {args.customers:,} customers into {settings.database_url}", flush=True)
    started = time.perf_counter()
    _fresh(settings)
    asyncio.run(_seed(settings, args.customers))
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    child = [sys.executable, __file__, "--measure-only", "--data-dir", str(data_dir),
             "--batch", str(args.batch), "--deliver-seconds", str(args.deliver_seconds)]
    if args.database_url:
        child += ["--database-url", args.database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_")}
    return subprocess.run(child, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
