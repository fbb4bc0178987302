"""Outgoing mail rate of the outbox dispatcher, to the mail folder and to a local SMTP server.

For each sender: a fresh PostgreSQL database (`bench_mail`) gets N due outbox messages (set-based,
encrypted for real with the app's keys from a pool of ciphertexts), then the app's own
`deliver_pending` sends them all with the sender the app would build from its settings: the
`FolderSender` into a temporary folder, or the `SmtpSender` to an aiosmtpd `Sink` server started
on 127.0.0.1:8125 in its own process. Prints messages/s and this process's resident memory
(sampled every 50 ms: before, peak, growth).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from measure import HOST, answers
from scale_seed import bind_to_rows
from seed import recreate_postgres
from sqlalchemy.engine import make_url

from app.core.config import Settings, resolve_secrets
from app.core.crypto import keys_from_settings
from app.core.db import create_engine, session_factory
from app.core.migrations import upgrade
from app.outbox.dispatcher import deliver_pending
from app.outbox.mailer import sender_from_settings
from app.outbox.models import BODY, RECIPIENT, SUBJECT

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


def rss_mb() -> float:
    """This process's resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def fill(settings: Settings, messages: int) -> None:
    """Queue `messages` due messages, their fields really encrypted."""
    cipher = keys_from_settings(settings).cipher
    pools = [[cipher.seal(f"customer{i}@example.com", RECIPIENT) for i in range(POOL)],
             [cipher.seal("Our privacy policy changes", SUBJECT)] * POOL,
             [cipher.seal("Dear customer,\n\n" + "The policy changes on 1 January. " * 20, BODY)
              for _ in range(POOL)]]
    dsn = make_url(settings.database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await connection.execute(FILL, messages, *pools)
        await bind_to_rows(connection, keys_from_settings(settings), tables={
            "outbox_message": ("recipient", "subject", "body")})
        await connection.execute("VACUUM ANALYZE outbox_message")
    finally:
        await connection.close()


async def deliver(settings: Settings) -> dict:
    """Deliver everything due with the app's dispatcher; time it and watch memory."""
    engine = create_engine(settings)
    sessions = session_factory(engine)
    before, peak = rss_mb(), rss_mb()

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    try:
        report = await deliver_pending(sessions, keys_from_settings(settings),
                                       sender_from_settings(settings),
                                       max_attempts=settings.outbox_max_attempts)
    finally:
        elapsed = time.perf_counter() - started
        watcher.cancel()
        await engine.dispose()
    return {"sent": report.sent, "failed": report.failed + report.retried,
            "seconds": elapsed, "per_second": report.sent / elapsed,
            "rss_before_mb": before, "rss_peak_mb": peak, "rss_growth_mb": peak - before}


def run_sender(kind: str, messages: int, database: str, folder: Path) -> dict:
    """Fresh database, N queued messages, one delivery run with this sender."""
    url = f"postgresql+asyncpg://postgres@{HOST}:5432/{database}"
    smtp = {"smtp_host": HOST, "smtp_port": SMTP_PORT} if kind == "smtp" else {}
    settings = resolve_secrets(Settings(data_dir=BENCH / ".data" / database, database_url=url,
                                        mail_dir=folder / kind, **smtp))
    asyncio.run(recreate_postgres(url))
    upgrade(url)
    asyncio.run(fill(settings, messages))
    return asyncio.run(deliver(settings))


def main() -> int:
    """Measure each sender; print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", nargs="+", choices=("folder", "smtp"),
                        default=["folder", "smtp"])
    parser.add_argument("--database-name", default="bench_mail")
    args = parser.parse_args()
    if not answers(5432):
        print("PostgreSQL must answer on 127.0.0.1:5432", file=sys.stderr)
        return 2
    server = None
    if "smtp" in args.senders:
        if answers(SMTP_PORT):
            print(f"port {SMTP_PORT} is in use", file=sys.stderr)
            return 2
        server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c",
                                   "aiosmtpd.handlers.Sink", "-l", f"{HOST}:{SMTP_PORT}"])
        while not answers(SMTP_PORT):
            time.sleep(0.1)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{args.messages:,} messages per sender", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as folder:
            for kind in args.senders:
                r = run_sender(kind, args.messages, args.database_name, Path(folder))
                print(f"{kind:<7} sent {r['sent']:>7,} (failed {r['failed']}) in "
                      f"{r['seconds']:7.1f}s = {r['per_second']:7.1f} messages/s; memory "
                      f"{r['rss_before_mb']:.0f} MB before, peak {r['rss_peak_mb']:.0f} MB "
                      f"(+{r['rss_growth_mb']:.1f} MB)", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
