"""Outgoing mail rate of the outbox dispatcher, to the mail folder and to a local SMTP server.

For each sender, round and source tree: a fresh PostgreSQL database gets N due outbox messages
(set-based, encrypted for real with the app's keys from a pool of ciphertexts, each bound to its
row), then `--dispatchers` child processes run the tree's own `deliver_pending` side by side
with the sender the app builds from its settings: the `FolderSender` into a temporary folder,
or the `SmtpSender` to an aiosmtpd server on 127.0.0.1:8125 in its own process, which logs each
Message-ID (`smtp_sink.py`). Prints messages/s (N over the slowest dispatcher's time) and each
child's resident memory (sampled every 50 ms: before, peak, growth), and checks that every
message was recorded as sent and arrived exactly once (one file, one Message-ID).

`--trees` measures other checkouts' dispatchers the same way (e.g. the code before a change,
extracted with `git archive`), alternating the order from round to round.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
from measure import HOST, answers
from scale_seed import bind_to_rows
from seed import recreate_postgres
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
SMTP_PORT = 8125
POOL = 32
FILL = """
INSERT INTO outbox_message (id, kind, customer_id, recipient_enc, subject_enc, body_enc,
                            created_at, attempts, next_attempt_at)
SELECT md5('m' || n)::uuid::text, 'policy_change', NULL, ($2::text[])[1 + n % 32],
       ($3::text[])[1 + n % 32], ($4::text[])[1 + n % 32], now(), 0,
       now() - interval '1 minute'
FROM generate_series(1, $1::int) AS n
"""


def load() -> str:
    """The 1-minute load average."""
    return f"{os.getloadavg()[0]:.2f}"


def rss_mb() -> float:
    """This process's resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def settings_for(kind: str, database: str, folder: Path, connections: int | None):
    """The app's settings for this sender, database and folder."""
    from app.core.config import Settings, resolve_secrets

    url = f"postgresql+asyncpg://postgres@{HOST}:5432/{database}"
    smtp: dict = {"smtp_host": HOST, "smtp_port": SMTP_PORT} if kind == "smtp" else {}
    if kind == "smtp" and connections:
        smtp["smtp_connections"] = connections
    return resolve_secrets(Settings(data_dir=BENCH / ".data" / database, database_url=url,
                                    mail_dir=folder, **smtp))


async def fill(settings, messages: int) -> None:
    """Queue `messages` due messages, their fields really encrypted."""
    from app.core.crypto import keys_from_settings
    from app.outbox.models import BODY, RECIPIENT, SUBJECT

    cipher = keys_from_settings(settings).cipher
    pools = [[cipher.seal(f"customer{i}@example.com", RECIPIENT) for i in range(POOL)],
             [cipher.seal("Our privacy policy changes", SUBJECT)] * POOL,
             [cipher.seal("Dear customer,\n\n" + "The policy changes on 1 January. " * 20, BODY)
              for _ in range(POOL)]]
    connection = await asyncpg.connect(_dsn(settings))
    try:
        await connection.execute(FILL, messages, *pools)
        await bind_to_rows(connection, keys_from_settings(settings), tables={
            "outbox_message": ("recipient", "subject", "body")})
        await connection.execute("VACUUM ANALYZE outbox_message")
    finally:
        await connection.close()


async def sent_count(settings) -> int:
    """Messages recorded as sent."""
    connection = await asyncpg.connect(_dsn(settings))
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM outbox_message WHERE sent_at IS NOT NULL")
    finally:
        await connection.close()


def _dsn(settings) -> str:
    return make_url(settings.database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


async def deliver(settings) -> dict:
    """Deliver everything due with the app's dispatcher; time it and watch memory."""
    from app.core.crypto import keys_from_settings
    from app.core.db import create_engine, session_factory
    from app.outbox.dispatcher import deliver_pending
    from app.outbox.mailer import sender_from_settings

    engine = create_engine(settings)
    sessions = session_factory(engine)
    before, peak = rss_mb(), rss_mb()

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        report = await deliver_pending(sessions, keys_from_settings(settings),
                                       sender_from_settings(settings),
                                       max_attempts=settings.outbox_max_attempts)
    finally:
        elapsed = time.perf_counter() - started
        used = resource.getrusage(resource.RUSAGE_SELF)
        watcher.cancel()
        await engine.dispose()
    return {"sent": report.sent, "failed": report.failed + report.retried,
            "seconds": elapsed, "rss_before_mb": before, "rss_peak_mb": peak,
            "cpu_seconds": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime}


def child(args: argparse.Namespace) -> int:
    """One dispatcher process: deliver, print the result as JSON."""
    settings = settings_for(args.child, args.database_name, Path(args.folder),
                            args.smtp_connections)
    print(json.dumps(asyncio.run(deliver(settings))), flush=True)
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(tree: Path, kind: str, args: argparse.Namespace, folder: Path,
            smtp_log: Path, server: int | None) -> dict:
    """Fresh database, N queued messages, the tree's dispatchers side by side; checked."""
    from app.core.migrations import upgrade

    settings = settings_for(kind, args.database_name, folder, args.smtp_connections)
    asyncio.run(recreate_postgres(settings.database_url))
    upgrade(settings.database_url)
    asyncio.run(fill(settings, args.messages))
    smtp_log.write_bytes(b"")
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder),
               "--database-name", args.database_name]
    if args.smtp_connections:
        command += ["--smtp-connections", str(args.smtp_connections)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load_before = load()
    server_cpu = cpu_seconds(server) if server else 0.0
    children = [subprocess.Popen(command, env=env, cwd=BENCH, stdout=subprocess.PIPE)
                for _ in range(args.dispatchers)]
    results = [json.loads(process.communicate()[0]) for process in children]
    if any(process.returncode for process in children):
        raise SystemExit("a dispatcher failed")
    arrived = (Counter(smtp_log.read_bytes().splitlines()) if kind == "smtp"
               else Counter(path.name for path in folder.glob("*.eml")))
    stray = list(folder.glob(".*.tmp"))
    sent = sum(r["sent"] for r in results)
    return {"tree": str(tree), "sender": kind, "messages": args.messages,
            "dispatchers": args.dispatchers, "sent": sent,
            "failed": sum(r["failed"] for r in results),
            "recorded_sent": asyncio.run(sent_count(settings)),
            "arrived": len(arrived), "twice": sum(1 for n in arrived.values() if n > 1),
            "stray_temporary_files": len(stray),
            "seconds": max(r["seconds"] for r in results),
            "per_second": args.messages / max(r["seconds"] for r in results),
            "rss_before_mb": max(r["rss_before_mb"] for r in results),
            "rss_peak_mb": max(r["rss_peak_mb"] for r in results),
            "dispatcher_cpu_ms_per_message": 1000 * sum(r["cpu_seconds"] for r in results)
            / args.messages,
            "smtp_server_cpu_ms_per_message": 1000 * (cpu_seconds(server) - server_cpu)
            / args.messages if server and kind == "smtp" else None,
            "load_before": load_before, "load_after": load()}


def show(r: dict) -> None:
    """One line per measurement."""
    ok = (r["recorded_sent"] == r["messages"] == r["arrived"] and not r["twice"]
          and not r["stray_temporary_files"])
    print(f"{r['tree']}  {r['sender']:<6} x{r['dispatchers']}: {r['sent']:,} sent "
          f"(failed {r['failed']}) in {r['seconds']:.1f}s = {r['per_second']:,.1f} messages/s; "
          f"RSS {r['rss_before_mb']:.0f} MB before, peak {r['rss_peak_mb']:.0f} MB "
          f"(+{r['rss_peak_mb'] - r['rss_before_mb']:.1f}); "
          f"{'each arrived once' if ok else 'CHECK FAILED'} ({r['arrived']:,} arrived, "
          f"{r['twice']} twice, {r['recorded_sent']:,} recorded sent); CPU per message: "
          f"dispatcher {r['dispatcher_cpu_ms_per_message']:.2f} ms"
          + (f", SMTP server {r['smtp_server_cpu_ms_per_message']:.2f} ms"
             if r["smtp_server_cpu_ms_per_message"] is not None else "") + "; "
          f"load {r['load_before']} -> {r['load_after']}", flush=True)


def main() -> int:
    """Measure each tree and sender; print one line each, exit 1 if a check failed."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000, help="messages queued per run")
    parser.add_argument("--senders", nargs="+", choices=("folder", "smtp"),
                        default=["folder", "smtp"])
    parser.add_argument("--dispatchers", type=int, default=1,
                        help="dispatcher processes delivering the same queue side by side")
    parser.add_argument("--smtp-connections", type=int,
                        help="PRIVACY_SMTP_CONNECTIONS for the dispatchers (default: the app's)")
    parser.add_argument("--trees", nargs="+", type=Path, default=[BENCH.parent],
                        help="source trees whose dispatcher is measured (default: this one)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-name", default="bench_mail")
    parser.add_argument("--output", type=Path, help="write the results as JSON here too")
    parser.add_argument("--child", choices=("folder", "smtp"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if not answers(5432):
        print("PostgreSQL must answer on 127.0.0.1:5432", file=sys.stderr)
        return 2
    if "smtp" in args.senders and answers(SMTP_PORT):
        print(f"port {SMTP_PORT} is in use", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as scratch:
        smtp_log = Path(scratch) / "message-ids.log"
        server = None
        if "smtp" in args.senders:
            server = subprocess.Popen(
                [sys.executable, "-m", "aiosmtpd", "-n", "-c", "smtp_sink.MessageIdLog",
                 str(smtp_log), "-l", f"{HOST}:{SMTP_PORT}"], cwd=BENCH,
                env={**os.environ, "PYTHONPATH": str(BENCH)})
            while not answers(SMTP_PORT):
                time.sleep(0.1)
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"{args.messages:,} messages per run, {args.dispatchers} dispatcher(s)",
              flush=True)
        try:
            for round_number in range(args.rounds):
                shift = round_number % len(args.trees)
                for tree in args.trees[shift:] + args.trees[:shift]:
                    for kind in args.senders:
                        folder = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{kind}-"))
                        results.append(measure(tree.resolve(), kind, args, folder, smtp_log,
                                               server.pid if server else None))
                        show(results[-1])
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0 if all(r["recorded_sent"] == r["messages"] == r["arrived"] and not r["twice"]
                    for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
