"""The customer's rights at scale: the access export and the deletion of a customer with a long
history (10,000 orders, 50,000 audit entries), on PostgreSQL, against a served app.

For each code tree (`--code label=dir`, default this one as `after`; e.g. add
`--code before=/tmp/base` with an export of the commit before the change) and each round, the
code's app is served alone (uvicorn, one worker) and:

1. **export**: a long-history customer files an access request (signed-in storefront), then
   reads `GET /v1/requests/{id}/export` with `X-Purpose: self`, streamed by the client: time to
   the first byte, total time, bytes, and the server's resident memory (VmRSS of the worker,
   sampled every 20 ms) before and at its peak during the export; the document must parse and
   hold every order and audit entry;
2. **deletion under load**: `wrk -t2 -c16` reads random ordinary customers
   (`GET /v1/customers/{id}`, support agent, `service`) for `--quiet` seconds, then again while
   the same long-history customer is deleted (signed-in storefront files the deletion, carried
   out at once; the run lasts until the request says the erasure is finished), then quiet again.
   The reads' throughput during the deletion is compared with the mean of the two quiet runs
   around it.

Rounds alternate the code trees; every (round, code) uses its own long-history customer, so
each export and deletion starts from the same history. Results go to
`bench/results/rights/summary.json`; the load average is printed before and after.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from statistics import mean, median

import asyncpg
import httpx
from measure import HOST, LUA, load_average, parse, service_env, serving, wait_until_serving
from rights_seed import fill
from scale_seed import customer_id
from seed import recreate_postgres

from app.core.config import Settings, resolve_secrets
from app.core.crypto import keys_from_settings
from app.core.migrations import upgrade
from app.core.security import mint_token
from app.partners.models import SECRET
from app.policy.roles import Role

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "rights"
PORT = 8111
PARTNERS = {"swiftship": "logistics", "paypal": "payment"}


def _settings(database: str) -> Settings:
    return Settings(data_dir=BENCH / ".data" / database,
                    database_url=f"postgresql+asyncpg://postgres@{HOST}:5432/{database}")


async def _partners(dsn: str, settings: Settings) -> None:
    """The partners the seeded orders name, with a webhook URL nothing answers on."""
    keys = keys_from_settings(resolve_secrets(settings))
    connection = await asyncpg.connect(dsn)
    try:
        for partner_id, kind in PARTNERS.items():
            await connection.execute(
                "INSERT INTO partner (id, kind, display_name, agreement_reference, "
                "agreement_starts_on, agreement_ends_on, webhook_url, secret_enc, created_at, "
                "updated_at) VALUES ($1, $2, $1, 'DPA-bench', '2020-01-01', '2099-12-31', "
                "'http://127.0.0.1:9/hooks', $3, now(), now())", partner_id, kind,
                keys.cipher.encrypt("whsec_bench", context=SECRET, row_id=partner_id))
    finally:
        await connection.close()


def seed(args: argparse.Namespace, histories: int) -> None:
    """A fresh database: ordinary customers and `histories` long-history customers."""
    settings = _settings(args.database_name)
    asyncio.run(recreate_postgres(settings.database_url))
    upgrade(settings.database_url)
    dsn = f"postgresql://postgres@{HOST}:5432/{args.database_name}"
    asyncio.run(_partners(dsn, settings))
    keys = keys_from_settings(resolve_secrets(settings))
    asyncio.run(fill(dsn, keys, customers=args.customers, audit_rows=10 * args.customers,
                     histories=histories, orders=args.orders,
                     history_audit_rows=args.audit_rows))


class MemorySampler:
    """The peak VmRSS of a process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """The process's resident memory now, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> "MemorySampler":
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


def _storefront(secrets: Settings, customer: str) -> dict[str, str]:
    token = mint_token(secrets, role=Role.STOREFRONT, sub="storefront-bench",
                       signed_in_customer=customer, ttl_seconds=86400)
    return {"Authorization": f"Bearer {token}", "X-Purpose": "service"}


def _file(http: httpx.Client, secrets: Settings, customer: str, kind: str) -> httpx.Response:
    filed = http.post("/v1/requests", json={"customer_id": customer, "type": kind},
                      headers=_storefront(secrets, customer))
    if filed.status_code not in (200, 201):
        raise RuntimeError(f"filing {kind} answered {filed.status_code}: {filed.text[:300]}")
    return filed


def export(http: httpx.Client, secrets: Settings, customer: str, pid: int) -> dict:
    """File an access request and stream its export; time, bytes, server memory."""
    request_id = _file(http, secrets, customer, "access").json()["id"]
    token = mint_token(secrets, role=Role.CUSTOMER, sub=customer, ttl_seconds=86400)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "self"}
    body = bytearray()
    with MemorySampler(pid) as memory:
        before = memory.rss()
        started = time.perf_counter()
        first = None
        with http.stream("GET", f"/v1/requests/{request_id}/export", headers=headers) as reply:
            if reply.status_code != 200:
                raise RuntimeError(f"export answered {reply.status_code}: {reply.read()[:300]!r}")
            for chunk in reply.iter_raw():
                first = first or time.perf_counter()
                body += chunk
        seconds = time.perf_counter() - started
    document = json.loads(body)
    return {"seconds": seconds, "first_byte_ms": 1000 * ((first or started) - started),
            "bytes": len(body), "orders": len(document.get("orders", [])),
            "access_log": len(document.get("access_log", [])),
            "rss_before_mb": before / 2**20, "rss_peak_mb": memory.peak / 2**20,
            "rss_growth_mb": (memory.peak - before) / 2**20,
            "chunked": reply.headers.get("transfer-encoding") == "chunked"}


def _wrk(env: dict, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout",
                             "10s", "-s", str(LUA), f"http://{HOST}:{PORT}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _parsed(out: str, err: str) -> dict:
    report = parse(out)
    if not report["rps"]:
        raise RuntimeError(f"wrk got no answer:\n{out}\n{err}")
    return report


def _reads(env: dict, seconds: int) -> dict:
    done = _wrk(env, seconds)
    return _parsed(*done.communicate(timeout=seconds + 60))


def _erasure_done(reply: httpx.Response) -> bool:
    body = reply.json()
    erasure = (body.get("outcome") or {}).get("erasure")
    return body.get("state") == "completed" and (erasure is None
                                                 or erasure.get("state") == "finished")


def deletion(http: httpx.Client, secrets: Settings, customer: str, env: dict, quiet: int
             ) -> dict:
    """Reads quiet, reads during the deletion of `customer`, reads quiet again."""
    before = _reads(env, quiet)
    load = _wrk(env, 600)
    time.sleep(0.5)
    started = time.perf_counter()
    filed = _file(http, secrets, customer, "deletion")
    answered = time.perf_counter() - started
    headers = _storefront(secrets, customer)
    while not _erasure_done(reply := http.get(f"/v1/requests/{filed.json()['id']}",
                                              headers=headers)):
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"the deletion did not finish: {reply.text[:300]}")
        time.sleep(0.1)
    finished = time.perf_counter() - started
    load.send_signal(signal.SIGINT)
    during = _parsed(*load.communicate(timeout=60))
    after = _reads(env, quiet)
    quiet_rps = mean((before["rps"], after["rps"]))
    return {"answered_s": answered, "finished_s": finished,
            "rows": (reply.json()["outcome"].get("erasure") or {}).get("rows"),
            "reads_quiet_rps": quiet_rps, "reads_during_rps": during["rps"],
            "reads_during_ratio": during["rps"] / quiet_rps,
            "p99_quiet_ms": mean((before["p99_ms"], after["p99_ms"])),
            "p99_during_ms": during["p99_ms"],
            "errors": sum(r["non_2xx"] for r in (before, during, after))}


async def _settled(dsn: str) -> None:
    """Wait until the sealer has sealed every entry, then vacuum and checkpoint."""
    connection = await asyncpg.connect(dsn)
    try:
        while await connection.fetchval("SELECT count(*) FROM audit_entry WHERE seq IS NULL"):
            await asyncio.sleep(0.5)
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def run(args: argparse.Namespace, codes: dict[str, Path]) -> dict:
    """Every round, every code tree: serve, export, delete under load, stop."""
    settings = _settings(args.database_name)
    secrets = resolve_secrets(settings)
    dsn = f"postgresql://postgres@{HOST}:5432/{args.database_name}"
    paths = RESULTS / "customers.paths"
    paths.write_text("\n".join(f"/v1/customers/{customer_id(n)}"
                               for n in range(args.customers)) + "\n")
    env = {**os.environ, "BENCH_PATHS": str(paths), "BENCH_PURPOSE": "service",
           "BENCH_TOKEN": mint_token(secrets, role=Role.SUPPORT_AGENT, sub="agent-7",
                                     ttl_seconds=86400)}
    server_env = service_env(settings.data_dir, settings.database_url)
    measured: dict[str, list[dict]] = {label: [] for label in codes}
    labels = list(codes)
    for number in range(args.rounds):
        order = labels[number % len(labels):] + labels[:number % len(labels)]
        for label in order:
            customer = customer_id(args.customers + number * len(labels) + labels.index(label))
            log = RESULTS / f"{label}.round{number + 1}.log"
            with serving("app.main:app", PORT, server_env, log, cwd=codes[label]) as process, \
                    httpx.Client(base_url=f"http://{HOST}:{PORT}", timeout=600) as http:
                wait_until_serving(f"http://{HOST}:{PORT}/v1/customers/{customer_id(0)}",
                                   {"Authorization": f"Bearer {env['BENCH_TOKEN']}",
                                    "X-Purpose": "service"}, process, 60)
                asyncio.run(_settled(dsn))
                result = {"export": export(http, secrets, customer, process.pid)}
                asyncio.run(_settled(dsn))
                _reads(env, 3)  # warm-up
                result["deletion"] = deletion(http, secrets, customer, env, args.quiet)
            measured[label].append(result)
            e, d = result["export"], result["deletion"]
            print(f"round {number + 1} {label:<7} export {e['seconds']:6.2f} s "
                  f"{e['bytes'] / 2**20:6.1f} MiB, RSS +{e['rss_growth_mb']:6.1f} MiB "
                  f"(peak {e['rss_peak_mb']:.0f}); deletion answered {d['answered_s']:5.2f} s, "
                  f"finished {d['finished_s']:5.2f} s; reads during/quiet "
                  f"{d['reads_during_rps']:6.0f}/{d['reads_quiet_rps']:6.0f} = "
                  f"{d['reads_during_ratio']:.2f}", flush=True)
    return measured


def summary(measured: dict[str, list[dict]]) -> dict:
    """Median per code tree of every figure."""
    return {label: {part: {key: median(r[part][key] for r in results)
                           for key, value in results[0][part].items()
                           if isinstance(value, int | float) and not isinstance(value, bool)}
                    for part in ("export", "deletion")}
            for label, results in measured.items()}


def main() -> int:
    """Seed (unless --no-seed), measure, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-name", default="bench_rights",
                        help="PostgreSQL database (dropped and recreated unless --no-seed)")
    parser.add_argument("--customers", type=int, default=10_000,
                        help="ordinary customers (whose reads make the load)")
    parser.add_argument("--orders", type=int, default=10_000,
                        help="orders of each long-history customer")
    parser.add_argument("--audit-rows", type=int, default=50_000,
                        help="audit entries about each long-history customer")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quiet", type=int, default=8,
                        help="seconds of reads without a deletion, before and after it")
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                        help="a code tree to serve (repeatable; default after=this tree)")
    parser.add_argument("--no-seed", action="store_true",
                        help="reuse the database of an earlier run with the same sizes; its "
                        "long-history customers must not have been deleted yet")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    codes = {label: Path(directory).resolve() for label, directory in
             (item.split("=", 1) for item in args.code)} or {"after": ROOT}
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {load_average()}", flush=True)
    if not args.no_seed:
        seed(args, histories=args.rounds * len(codes))
    measured = run(args, codes)
    print(f"load average after: {load_average()}", flush=True)
    medians = summary(measured)
    print(json.dumps(medians, indent=2))
    (RESULTS / "summary.json").write_text(json.dumps(
        {"args": vars(args), "load_after": load_average(), "medians": medians,
         "rounds": measured}, indent=2))
    return 1 if any(r["deletion"]["errors"] for results in measured.values()
                    for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
