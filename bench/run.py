"""Throughput and p99 of the service's audited reads against two anchors, with wrk, on loopback.

Scenarios (`--scenarios`): the customer read, the delivery view of an order with its items, and
the customer's own access-log page. Apps: the service (port 8101), the bare FastAPI + SQLAlchemy
ORM read (`baseline_app.py`, 8102) and, on PostgreSQL, the raw asyncpg read (`raw_app.py`, 8103).
Round after round each app is started alone, and every scenario gets a warm-up and a measured
`wrk -t2 -c16 --latency` run against it; ratios are taken within a round, and their median counts.
With `--service-background worker` the service only serves (`PRIVACY_BACKGROUND_TASKS=off`) and a
`privacy-api worker` process runs its background work next to it, on the same cores.
"""

import argparse
import json
import os
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from statistics import median

from measure import (
    HOST,
    POSTGRES_PORT,
    answers,
    background_worker,
    busy_percent,
    checkpoint,
    cpu_seconds,
    load_average,
    service_env,
    serving_replicas,
    wait_until_serving,
    wrk,
)
from scale_seed import customer_id, order_number, order_status
from seed import Seeded, seed

from app.core.config import Settings, resolve_secrets
from app.core.security import mint_token
from app.policy.roles import Role

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
DATA = BENCH / ".data"
APPS = {"bare": ("baseline_app:app", 1), "raw": ("raw_app:app", 2),
        "service": ("app.main:app", 0)}
"""Each app's target and its port's offset from `--port` (default 8101)."""
SCENARIOS = ("customer", "order", "access_log")
ACCESS_LOG_CUSTOMERS = 5000  # one token each; below the service's verified-token cache
TARGETS = {"bare": 1.0, "raw": 0.5}
TARGET_P99 = 1.5


def request_lines(scenario: str, seeded, settings: Settings) -> tuple[list[str], str, str]:
    """The request paths of a scenario (with per-line tokens where needed), its default bearer
    token and its X-Purpose."""
    secrets = resolve_secrets(settings)
    if scenario == "customer":
        token = mint_token(secrets, role=Role.SUPPORT_AGENT, sub="agent-7")
        return [f"/v1/customers/{i}" for i in seeded.customer_ids], token, "service"
    if scenario == "order":
        token = mint_token(secrets, role=Role.STOREFRONT, sub="shop")
        return [f"/v1/orders/{n}" for n in seeded.open_orders], token, "delivery"
    step = max(1, len(seeded.customer_ids) // ACCESS_LOG_CUSTOMERS)
    lines = [f"/v1/customers/{i}/access-log\t"
             + mint_token(secrets, role=Role.CUSTOMER, sub=i, ttl_seconds=86400)
             for i in seeded.customer_ids[::step][:ACCESS_LOG_CUSTOMERS]]
    return lines, "", "self"


def prepare(name: str, url: str, database: str, args: argparse.Namespace) -> dict:
    """Seed (unless --no-seed) and write each scenario's request file; return wrk settings."""
    data_dir = DATA / database
    settings = Settings(data_dir=data_dir, database_url=url)
    started = time.monotonic()
    if args.no_seed and url.startswith("postgresql"):
        seeded = Seeded([customer_id(n) for n in range(args.customers)],
                        [order_number(n, k) for n in range(args.customers) for k in (0, 1)
                         if order_status(n, k) in ("placed", "shipped")])
    else:
        print(f"[{name}] seeding {args.customers:,} customers, {args.audit_rows:,} audit "
              "entries ...", flush=True)
        seeded = seed(settings, args.customers, audit_rows=args.audit_rows)
        print(f"[{name}] seeded in {time.monotonic() - started:.1f}s", flush=True)
    runs = {}
    for scenario in args.scenarios:
        lines, token, purpose = request_lines(scenario, seeded, settings)
        paths = RESULTS / name / f"{scenario}.paths"
        paths.write_text("\n".join(lines) + "\n")
        runs[scenario] = {"env": {**os.environ, "BENCH_PATHS": str(paths), "BENCH_TOKEN": token,
                                  "BENCH_PURPOSE": purpose},
                          "probe": lines[0].split("\t")[0],
                          "headers": {"Authorization": "Bearer " + (
                              lines[0].split("\t")[1] if "\t" in lines[0] else token),
                                      "X-Purpose": purpose}}
    return {"data_dir": data_dir, "runs": runs}


def cpu_used(servers: list, worker) -> tuple[float, float]:
    """CPU seconds used so far by the servers (replicas and their workers) and the worker."""
    return (sum(cpu_seconds(server.pid) for server in servers),
            cpu_seconds(worker.pid) if worker else 0.0)


def bench_database(name: str, url: str, database: str, args: argparse.Namespace) -> dict:
    """Seed, then measure every app on every scenario, round after round."""
    (RESULTS / name).mkdir(parents=True, exist_ok=True)
    prepared = prepare(name, url, database, args)
    server_env = service_env(prepared["data_dir"], url)
    apps = [app for app in args.apps if not (app == "raw" and name == "sqlite")]
    rounds = {s: {app: [] for app in apps} for s in args.scenarios}
    busy = busy_percent()
    print(f"[{name}] before the run: load average {load_average()}, other processes keep "
          f"{busy:.0f}% of the CPU busy" if busy is not None else "", flush=True)
    for number in range(1, args.rounds + 1):
        order = apps[number % len(apps):] + apps[:number % len(apps)]  # rotate who goes first
        for app in order:
            target, offset = APPS[app]
            port = args.port + offset
            ports = [port + 10 * replica for replica in range(args.replicas)]
            log = RESULTS / name / f"{app}.round{number}.log"
            separate = app == "service" and args.service_background == "worker"
            env = {**server_env, "PRIVACY_BACKGROUND_TASKS": "off"} if separate else server_env
            worker_log = RESULTS / name / f"worker.round{number}.log"
            with (background_worker(server_env, worker_log) if separate else nullcontext()
                  as worker, serving_replicas(target, ports, env, log,
                                              workers=args.workers) as processes):
                for scenario, run in prepared["runs"].items():
                    base = f"http://{HOST}:{port}"
                    for replica, process in zip(ports, processes, strict=True):
                        wait_until_serving(f"http://{HOST}:{replica}{run['probe']}",
                                           run["headers"], process, 60)
                    wrk(base, args.warmup, run["env"], ports=ports)
                    checkpoint(url, database)
                    before = cpu_used(processes, worker)
                    report = wrk(base, args.duration, run["env"], ports=ports)
                    after = cpu_used(processes, worker)
                    for key, start, end in zip(("server", "worker"), before, after, strict=True):
                        report[f"{key}_cpu_ms"] = 1000 * (end - start) / max(report["requests"], 1)
                    (RESULTS / name / f"{scenario}.{app}.round{number}.wrk.txt").write_text(
                        report["text"])
                    rounds[scenario][app].append(report)
        for scenario in args.scenarios:
            figures = ", ".join(f"{app} {rounds[scenario][app][-1]['rps']:7.1f} req/s "
                                f"p99 {rounds[scenario][app][-1]['p99_ms']:6.1f} ms "
                                f"CPU {rounds[scenario][app][-1]['server_cpu_ms']:.2f}"
                                f"+{rounds[scenario][app][-1]['worker_cpu_ms']:.2f} ms/req"
                                for app in apps)
            print(f"[{name}] round {number} {scenario:<10} {figures}", flush=True)
    print(f"[{name}] after the run: load average {load_average()}", flush=True)
    return {scenario: summarize(per_app) for scenario, per_app in rounds.items()}


def summarize(per_app: dict[str, list[dict]]) -> dict:
    """Each app's median round, and the service's medians of per-round ratios to each anchor."""
    summary = {}
    for app, measured in per_app.items():
        summary[app] = {"rps": median(r["rps"] for r in measured),
                        "p99_ms": median(r["p99_ms"] for r in measured),
                        "server_cpu_ms": median(r["server_cpu_ms"] for r in measured),
                        "worker_cpu_ms": median(r["worker_cpu_ms"] for r in measured),
                        "non_2xx": sum(r["non_2xx"] for r in measured),
                        "socket_errors": "; ".join(r["socket_errors"] for r in measured
                                                   if r["socket_errors"])}
    service = per_app["service"]
    for anchor in (a for a in per_app if a != "service"):
        pairs = list(zip(service, per_app[anchor], strict=True))
        summary[f"rps/{anchor}"] = median(s["rps"] / a["rps"] for s, a in pairs)
        summary[f"p99/{anchor}"] = median(s["p99_ms"] / a["p99_ms"] for s, a in pairs)
    return summary


def print_table(measured: dict[str, dict[str, dict]]) -> bool:
    """Every app's figures and the service's ratios; return whether every target is met."""
    met = True
    print(f"\n{'database':<11}{'scenario':<11}{'app':<9}{'req/s':>9}{'p99 ms':>9}"
          f"{'CPU ms/req':>12}{'worker':>8}  errors   (CPU: server processes, worker process)")
    for database, scenarios in measured.items():
        for scenario, summary in scenarios.items():
            for app in ("bare", "raw", "service"):
                if app not in summary:
                    continue
                r = summary[app]
                errors = f"non-2xx {r['non_2xx']}" if r["non_2xx"] else ""
                errors += f" socket: {r['socket_errors']}" if r["socket_errors"] else ""
                print(f"{database:<11}{scenario:<11}{app:<9}{r['rps']:>9.1f}{r['p99_ms']:>9.1f}"
                      f"{r['server_cpu_ms']:>12.2f}{r['worker_cpu_ms']:>8.2f}  {errors}")
    print("\nratios of the service to each anchor (median of the rounds' ratios; "
          "target in brackets)")
    print(f"{'database':<11}{'scenario':<11}{'rps/bare':>18}{'rps/raw':>18}{'p99/bare':>18}"
          f"{'p99/raw':>9}")
    for database, scenarios in measured.items():
        for scenario, s in scenarios.items():
            cells = []
            for key, target, better in (("rps/bare", TARGETS["bare"], "high"),
                                        ("rps/raw", TARGETS["raw"], "high"),
                                        ("p99/bare", TARGET_P99, "low"), ("p99/raw", None, "")):
                if key not in s:
                    cells.append("-")
                    continue
                ok = target is None or (s[key] >= target if better == "high"
                                        else s[key] <= target)
                met &= ok
                mark = "" if target is None else f" [{target:g}{' ok' if ok else ' NO'}]"
                cells.append(f"{s[key]:.2f}{mark}")
            print(f"{database:<11}{scenario:<11}" + "".join(
                f"{cell:>18}" if i < 3 else f"{cell:>9}" for i, cell in enumerate(cells)))
    return met


def main() -> int:
    """Run the benchmark; exit 2 without wrk, 1 if a run answered errors."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--audit-rows", type=int, default=None,
                        help="sealed audit entries to seed (PostgreSQL; default 10 per customer)")
    parser.add_argument("--no-seed", action="store_true",
                        help="PostgreSQL: reuse the database seeded by an earlier run with the "
                        "same --customers and --database-name")
    parser.add_argument("--database-name", default="bench_privacy",
                        help="PostgreSQL benchmark database (dropped and recreated)")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds; the median of the rounds' ratios counts")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of every app")
    parser.add_argument("--replicas", type=int, default=1,
                        help="servers of every app on one database (each app's port, then "
                        "+10, +20, ...); wrk spreads its connections over them")
    parser.add_argument("--port", type=int, default=8101,
                        help="the service's port; bare and raw listen on the next two")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--apps", nargs="+", choices=tuple(APPS), default=list(APPS))
    parser.add_argument("--service-background", choices=("inline", "worker"), default="inline",
                        help="the service's background work (audit sealing, outbox, ...): in "
                        "its server processes, or in a `privacy-api worker` process next to it")
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"),
                        default=["postgresql"])
    args = parser.parse_args()
    if "service" not in args.apps:
        parser.error("--apps must include service")
    if args.audit_rows is None:
        args.audit_rows = 10 * args.customers
    if shutil.which("wrk") is None:
        print("wrk is not installed; install it with: "
              "sudo apt-get update && sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    databases = {}
    if "sqlite" in args.databases:
        databases["sqlite"] = (f"sqlite+aiosqlite:///{DATA / 'sqlite' / 'bench.db'}", "sqlite")
    if "postgresql" in args.databases:
        if answers(POSTGRES_PORT):
            databases["postgresql"] = (
                f"postgresql+asyncpg://postgres@{HOST}:{POSTGRES_PORT}/{args.database_name}",
                args.database_name)
        else:
            print(f"PostgreSQL skipped: nothing answers on {HOST}:{POSTGRES_PORT}")
    print(f"workers {args.workers}, replicas {args.replicas}, {args.rounds} rounds of "
          f"{args.duration}s, scenarios {' '.join(args.scenarios)}, service background work "
          f"{args.service_background}", flush=True)
    measured = {name: bench_database(name, url, database, args)
                for name, (url, database) in databases.items()}
    met = print_table(measured) if measured else False
    (RESULTS / "summary.json").write_text(json.dumps(
        {"args": vars(args), "measured": measured}, indent=2))
    print(f"\nall targets {'met' if met else 'NOT met'}; wrk reports and server logs: {RESULTS}")
    failed = any(r["non_2xx"] or r["socket_errors"] for scenarios in measured.values()
                 for s in scenarios.values() for r in s.values() if isinstance(r, dict))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
