"""Benchmark of the audit trail on PostgreSQL: sealing throughput of one sealer process and of
two racing ones (as two replicas without the election), the unsealed backlog under a
sustained write load, and full / incremental verify time and peak memory at a given number of
entries.

    .venv/bin/python bench/audit.py --entries 10000000 --seal-entries 200000

Entries are seeded with COPY in batches (MACs and chain computed as the app does), never
through ORM loops. It uses its own database (`--database-name`, default `privacy_audit_bench`,
dropped and recreated); `--steps` picks what is measured.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from app.audit.hashing import GENESIS_HASH, entry_mac, link
from app.core.config import Settings, resolve_secrets
from app.core.migrations import upgrade

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "audit"
SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "privacy_audit_bench"
STEPS = ("seal", "backlog", "verify")
COPY_BATCH = 50_000
COLUMNS = ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action", "subject_id",
           "resource", "resource_id", "fields", "request_id", "entry_mac", "seq", "chain_hash")


def _env(database: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_")}
    return env | {"PRIVACY_DATABASE_URL": f"{SERVER}/{database}",
                  "PRIVACY_DATA_DIR": str(RESULTS), "PRIVACY_LOG_LEVEL": "WARNING"}


def _records(key: bytes, count: int, *, sealed: bool, start_seq: int = 0,
             chain: str = GENESIS_HASH):
    """Entries as the app writes them, 50 ms apart and ending now; sealed if asked."""
    now = datetime.now(UTC)
    for n in range(count):
        values = {"id": str(uuid.uuid4()),
                  "occurred_at": now - timedelta(microseconds=(count - n) * 50_000),
                  "actor_id": f"agent-{n % 500}", "actor_role": "support_agent",
                  "purpose": "service", "action": "read", "subject_id": str(uuid.UUID(int=n)),
                  "resource": "customer", "resource_id": str(uuid.UUID(int=n)),
                  "fields": ["id", "name", "email", "phone"], "request_id": uuid.uuid4().hex}
        mac = entry_mac(key, values)
        seq = None
        if sealed:
            start_seq += 1
            seq, chain = start_seq, link(key, chain, mac)
        yield (*[values[c] for c in COLUMNS[:9]], json.dumps(values["fields"]),
               values["request_id"], mac, seq, chain if sealed else None), chain


async def _seed(database: str, key: bytes, count: int, *, sealed: bool) -> float:
    """COPY `count` entries in batches; sealed ones also move the head. Return seconds."""
    started = time.perf_counter()
    connection = await asyncpg.connect(f"{SERVER}/{database}")
    try:
        batch, seq, chain = [], 0, GENESIS_HASH
        for record, chain_so_far in _records(key, count, sealed=sealed):
            batch.append(record)
            chain = chain_so_far
            if len(batch) == COPY_BATCH:
                await connection.copy_records_to_table("audit_entry", records=batch,
                                                       columns=COLUMNS)
                seq += len(batch)
                batch = []
                print(f"\rseeded {seq:,}", end="", file=sys.stderr, flush=True)
        if batch:
            await connection.copy_records_to_table("audit_entry", records=batch, columns=COLUMNS)
        if sealed:
            await connection.execute("UPDATE audit_chain_head SET last_seq = $1, last_hash = $2",
                                     count, chain)
        await connection.execute("VACUUM ANALYZE audit_entry")
    finally:
        await connection.close()
    print(file=sys.stderr)
    return time.perf_counter() - started


async def _fresh_database(database: str) -> None:
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


def _fresh(database: str) -> None:
    (RESULTS / "audit-checkpoints.jsonl").unlink(missing_ok=True)  # they vouch for the old one
    asyncio.run(_fresh_database(database))
    upgrade(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}")


SEALER = """
import asyncio, time
from sqlalchemy import func, select
from app.audit.models import AuditEntry
from app.audit.sealer import seal_pending
from app.core.config import resolved_settings
from app.core.db import create_engine, session_factory
async def main():
    settings = resolved_settings()
    sessions = session_factory(create_engine(settings))
    key = settings.audit_key.get_secret_value().encode()
    started, total = time.time(), 0
    while True:
        total += await seal_pending(sessions, key=key)
        async with sessions() as session:
            if not await session.scalar(select(func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.seq.is_(None))):
                break
    print(started, time.time(), total)
asyncio.run(main())
"""


MEASURED = """
import sys
from app.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    print("PEAK_KB", next(l for l in status if l.startswith("VmHWM")).split()[1])
sys.exit(code)
"""


def _cli(database: str, *args: str) -> tuple[float, int]:
    """Run `privacy-api ARGS`; return wall seconds and the process's own peak RSS in MB
    (VmHWM: ru_maxrss would include this parent's memory inherited at fork)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], cwd=ROOT, env=_env(database),
                          stdout=subprocess.PIPE, check=True)
    seconds = time.perf_counter() - started
    peak = next(int(line.split()[1]) for line in done.stdout.decode().splitlines()
                if line.startswith("PEAK_KB"))
    return seconds, peak // 1024


def _seal_with(database: str, count: int, processes: int) -> float:
    """`processes` sealer processes (replicas) race over `count` unsealed entries; return
    entries per second from the first one's start to the last one's end (start-up excluded)."""
    sealers = [subprocess.Popen([sys.executable, "-c", SEALER], cwd=ROOT, env=_env(database),
                                stdout=subprocess.PIPE) for _ in range(processes)]
    reports = [[float(x) for x in p.communicate()[0].split()] for p in sealers]
    totals = [int(r[2]) for r in reports]
    assert sum(totals) == count, totals
    print(f"sealers handled {totals}", file=sys.stderr)
    return count / (max(r[1] for r in reports) - min(r[0] for r in reports))


async def _backlog_under_load(database: str, key: bytes, rate: int, seconds: int) -> int:
    """Write `rate` entries/s for `seconds` with two sealer loops running; max backlog."""
    loop = """
import asyncio
from app.audit.sealer import seal_pending
from app.core.config import resolved_settings
from app.core.db import create_engine, session_factory
async def main():
    settings = resolved_settings()
    sessions = session_factory(create_engine(settings))
    while True:
        await seal_pending(sessions, key=settings.audit_key.get_secret_value().encode())
        await asyncio.sleep(settings.audit_seal_interval_seconds)
asyncio.run(main())
"""
    sealers = [subprocess.Popen([sys.executable, "-c", loop], cwd=ROOT, env=_env(database))
               for _ in range(2)]
    connection = await asyncpg.connect(f"{SERVER}/{database}")
    worst = 0
    await asyncio.sleep(5)  # the sealers start up
    try:
        for _ in range(seconds):
            tick = time.perf_counter()
            records = [r for r, _ in _records(key, rate, sealed=False)]
            await connection.copy_records_to_table("audit_entry", records=records,
                                                   columns=COLUMNS)
            worst = max(worst, await connection.fetchval(
                "SELECT count(*) FROM audit_entry WHERE seq IS NULL"))
            await asyncio.sleep(max(0.0, 1 - (time.perf_counter() - tick)))
        await asyncio.sleep(3)
        left = await connection.fetchval("SELECT count(*) FROM audit_entry WHERE seq IS NULL")
    finally:
        await connection.close()
        for sealer in sealers:
            sealer.terminate()
            sealer.wait()
    print(f"backlog left 3 s after the load stopped: {left}", file=sys.stderr)
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000, help="sealed, for verify")
    parser.add_argument("--seal-entries", type=int, default=200_000, help="for the seal rate")
    parser.add_argument("--load-rate", type=int, default=2000, help="entries/s written")
    parser.add_argument("--load-seconds", type=int, default=20)
    parser.add_argument("--database-name", default=DATABASE,
                        help="PostgreSQL database (dropped and recreated)")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                        help="seal: rate of one and of two sealers; backlog: under a write load; "
                        "verify: full and incremental verify")
    args = parser.parse_args()
    database = args.database_name
    if database in ("postgres", "test") or database.startswith("template"):
        parser.error(f"refusing to drop the database {database!r}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    os.environ.update(_env(database))
    key = resolve_secrets(Settings()).audit_key.get_secret_value().encode()
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "load_average": " ".join(f"{v:.2f}" for v in os.getloadavg())}

    if "seal" in args.steps:
        results["seal_entries"] = args.seal_entries
        for processes, name in ((1, "one_sealer"), (2, "two_sealers")):
            _fresh(database)
            asyncio.run(_seed(database, key, args.seal_entries, sealed=False))
            results[f"seal_entries_per_second_{name}"] = round(
                _seal_with(database, args.seal_entries, processes))
    if "backlog" in args.steps:
        _fresh(database)
        results["max_backlog_at_load"] = asyncio.run(
            _backlog_under_load(database, key, args.load_rate, args.load_seconds))
        results["load_rate"] = args.load_rate
    if "verify" in args.steps:
        _fresh(database)
        results["entries"] = args.entries
        results["seed_seconds"] = round(
            asyncio.run(_seed(database, key, args.entries, sealed=True)), 1)
        results["idle_cli_peak_mb"] = _cli(database, "audit", "public-key")[1]
        seconds, peak = _cli(database, "audit", "verify", "--full", "--no-seal")
        results |= {"full_verify_seconds": round(seconds, 1), "full_verify_peak_mb": peak}
        results["checkpoint_seconds"] = round(_cli(database, "audit", "checkpoint")[0], 1)
        seconds, peak = _cli(database, "audit", "verify", "--no-seal")
        results |= {"incremental_verify_seconds": round(seconds, 1),
                    "incremental_verify_peak_mb": peak}
    results["load_average_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    (RESULTS / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
