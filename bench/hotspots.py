"""Where the service's time goes under wrk: a py-spy profile, tail-latency probes, an A/B run.

Needs a database seeded by `run.py` (same `--database-name` and `--customers`, PostgreSQL) and
the `bench` extra (`pip install -e '.[bench]'`: py-spy). Three steps, one scenario:
1. `py-spy record --pid` samples the warmed-up worker under `wrk -t2 -c16`; the folded stacks are
   summed into CPU buckets (each sample counted once, in the first bucket its stack matches);
2. `probe_app.py` serves the same load and records each request's time inside the server,
   garbage collections, audit sealer and outbox passes, pool checkouts and event-loop lag; for
   each kind of event: how much of the measured time it covered, and how many of the slowest
   1 % of requests overlapped one (compare the two: chance alone gives about the time share);
3. alternating rounds with the background sealer as configured (every 1 s) and nearly off
   (every hour), to show its share of the p99.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import median

from measure import HOST, checkpoint, service_env, serving, wait_until_serving, wrk
from run import RESULTS, SCENARIOS, prepare

# (bucket, substrings of a frame that put a sample there), in order: the first match wins.
BUCKETS = (
    ("audit sealer (background)", ("app/audit/sealer.py", "app/audit/chain.py")),
    ("outbox dispatcher (background)", ("app/outbox/",)),
    ("field decryption (AES-GCM)", ("app/core/crypto.py",)),
    ("audit entry hash", ("app/audit/hashing.py",)),
    ("token check", ("app/core/security.py", "jose/")),
    ("asyncpg (driver: protocol, codecs)", ("asyncpg/",)),
    ("SQLAlchemy (statements, pool, greenlets, ORM, results)", ("sqlalchemy/",)),
    ("response validation + serialization", ("serialize_response", "jsonable_encoder",
                                             "pydantic", "starlette/responses.py")),
    ("request parsing + dependencies", ("solve_dependencies", "request_params_to_args",
                                        "fastapi/dependencies")),
    ("policy decision + projection", ("app/policy/", "app/access/")),
    ("routing and endpoint glue (FastAPI, Starlette)", ("fastapi/routing", "starlette/routing")),
    ("ASGI wrappers (request pipeline: request id, limits, rate limits, access log, metrics; "
     "Starlette and FastAPI middleware, proxy headers)",
     ("app/core/pipeline.py", "app/core/middleware.py", "fastapi/telemetry", "proxy_headers",
      "starlette/middleware", "fastapi/applications.py")),
    ("uvicorn / HTTP protocol (httptools)", ("uvicorn/", "httptools")),
    ("event loop (asyncio, uvloop)", ("asyncio/",)),
)


# The request's own work: its endpoint, the response model, and database work anywhere.
ROUTE_WORK = ("run_endpoint_function", "serialize_response", "sqlalchemy/", "asyncpg/")
REQUEST = ("RequestResponseCycle.run_asgi", "HttpToolsProtocol")


def layer(stack: str) -> str:
    """Which layer a sample's stack belongs to: the route's own work, the request pipeline
    around it (server, middleware, routing, dependency solving, sending), background tasks or
    the event loop itself."""
    if "_forever (app/" in stack:  # the lifespan's loops: sealer, outbox, retention, ...
        return "background tasks"
    if any(mark in stack for mark in ROUTE_WORK):  # incl. the driver's own I/O callbacks
        return "route (endpoint, response model, database)"
    if any(mark in stack for mark in REQUEST):
        return "request pipeline (server, middleware, routing, dependencies, sending)"
    if stack.rpartition(";")[2].startswith("Runner.run"):
        return "event loop (uvloop, idle excluded)"
    return "other"


def folded_buckets(path: Path) -> tuple[Counter, Counter, int]:
    """CPU samples per bucket and per innermost frame, from py-spy's raw (folded) output."""
    buckets: Counter = Counter()
    leaves: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        bucket = next((name for name, marks in BUCKETS if any(m in stack for m in marks)),
                      "other")
        buckets[bucket] += samples
        leaves[stack.split(";")[-1]] += samples
    return buckets, leaves, total


def record_profile(env: dict, run: dict, args: argparse.Namespace, out: Path) -> dict:
    """Sample the warmed-up service with py-spy while wrk loads it; return the CPU buckets."""
    folded = out / f"{args.scenario}.folded"
    with serving("app.main:app", args.port, env, out / "profiled.log") as process:
        wait_until_serving(f"http://{HOST}:{args.port}{run['probe']}", run["headers"], process, 60)
        wrk(f"http://{HOST}:{args.port}", args.warmup, run["env"])
        checkpoint(env["PRIVACY_DATABASE_URL"], args.database_name)
        command = ["py-spy", "record", "--format", "raw", "--rate", str(args.rate), "--output",
                   str(folded), "--duration", str(args.duration), "--pid", str(process.pid)]
        with (out / "py-spy.log").open("w") as log:
            spy = subprocess.Popen(command, stdout=log, stderr=log)
            report = wrk(f"http://{HOST}:{args.port}", args.duration, run["env"])
            spy.wait(timeout=args.duration + 60)
    buckets, leaves, total = folded_buckets(folded)
    layers: Counter = Counter()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            layers[layer(stack)] += int(count)
    return {"wrk": {k: v for k, v in report.items() if k != "text"}, "samples": total,
            "layers": {k: round(100 * v / total, 1) for k, v in layers.most_common()},
            "buckets": {k: round(100 * v / total, 1) for k, v in buckets.most_common()},
            "top_frames": {k: round(100 * v / total, 1) for k, v in leaves.most_common(25)}}


def overlaps(start: float, end: float, spans: list) -> bool:
    """Whether [start, end] overlaps any (began, duration, ...) span."""
    return any(began < end and began + duration > start for began, duration, *_ in spans)


def probe(env: dict, run: dict, args: argparse.Namespace, out: Path) -> dict:
    """Serve the probed service under wrk; say what overlapped the slowest 1 % of requests."""
    probe_out = out / f"{args.scenario}.probes.json"
    with serving("probe_app:app", args.port, {**env, "BENCH_PROBE_OUT": str(probe_out)},
                 out / "probe.log") as process:
        wait_until_serving(f"http://{HOST}:{args.port}{run['probe']}", run["headers"], process, 60)
        wrk(f"http://{HOST}:{args.port}", args.warmup, run["env"])
        checkpoint(env["PRIVACY_DATABASE_URL"], args.database_name)
        began = time.perf_counter()
        report = wrk(f"http://{HOST}:{args.port}", args.duration, run["env"])
    ended = time.perf_counter()
    probes = json.loads(probe_out.read_text())
    window = [r for r in probes["requests"] if began <= r[0] <= ended]
    durations = sorted(d for _, d in window)
    p99 = durations[int(len(durations) * 0.99)]
    slow = [(s, s + d) for s, d in window if d >= p99]
    spans = {"audit sealer pass": probes["sealer"], "outbox delivery pass": probes["outbox"],
             "garbage collection (any)": probes["gc"],
             "generation-2 collection": [g for g in probes["gc"] if g[2] == 2],
             "event-loop stall > 20 ms": [lag for lag in probes["lag"] if lag[1] > 0.02]}
    spans = {name: [x for x in found if began <= x[0] <= ended] for name, found in spans.items()}
    waits = sorted(probes["pool_wait"])

    def ms(values: list, q: float) -> float:
        return round(1000 * values[min(int(len(values) * q), len(values) - 1)], 2) if values else 0

    return {
        "wrk": {k: v for k, v in report.items() if k != "text"},
        "requests_in_server": len(window), "server_p50_ms": ms(durations, 0.5),
        "server_p99_ms": ms(durations, 0.99),
        "spans": {name: {
            "count": len(found), "total_ms": round(1000 * sum(x[1] for x in found), 1),
            "max_ms": ms(sorted(x[1] for x in found), 1.0),
            "share_of_time_%": round(100 * sum(x[1] for x in found) / (ended - began), 1),
            "slowest_1pct_overlapping_%": round(100 * sum(
                overlaps(s, e, found) for s, e in slow) / max(len(slow), 1), 1),
        } for name, found in spans.items()},
        "sealed_entries_per_pass_median_max": [
            median(x[2] or 0 for x in spans["audit sealer pass"]) if spans["audit sealer pass"]
            else 0, max((x[2] or 0 for x in spans["audit sealer pass"]), default=0)],
        "gc_collections_by_generation": dict(Counter(str(g[2]) for g in
                                                     spans["garbage collection (any)"])),
        "pool_checkout_ms_p50_p99_max": [ms(waits, 0.5), ms(waits, 0.99), ms(waits, 1.0)],
    }


def sealer_ab(env: dict, run: dict, args: argparse.Namespace, out: Path) -> dict:
    """Alternating rounds with the sealer every second and every hour: p99 and throughput."""
    variants = {"sealer every 1 s": env,
                "sealer every 3600 s": {**env, "PRIVACY_AUDIT_SEAL_INTERVAL_SECONDS": "3600"}}
    rounds: dict[str, list] = {name: [] for name in variants}
    for number in range(args.rounds):
        for name, variant_env in variants.items():
            with serving("app.main:app", args.port, variant_env,
                         out / f"ab.{number}.log") as process:
                wait_until_serving(f"http://{HOST}:{args.port}{run['probe']}", run["headers"],
                                   process, 60)
                wrk(f"http://{HOST}:{args.port}", args.warmup, run["env"])
                checkpoint(env["PRIVACY_DATABASE_URL"], args.database_name)
                rounds[name].append(wrk(f"http://{HOST}:{args.port}", args.duration, run["env"]))
    return {name: {"rps": median(r["rps"] for r in measured),
                   "p99_ms": median(r["p99_ms"] for r in measured)}
            for name, measured in rounds.items()}


def main() -> int:
    """Profile, probe and A/B one scenario; print and store the findings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=SCENARIOS, default="customer")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--database-name", default="bench_privacy")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the sealer A/B")
    parser.add_argument("--port", type=int, default=8104, help="port of the profiled server")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--steps", nargs="+", choices=("profile", "probe", "ab"),
                        default=["profile", "probe", "ab"])
    args = parser.parse_args()
    if "profile" in args.steps and shutil.which("py-spy") is None:
        print("py-spy is missing: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    out = RESULTS / "profile"
    out.mkdir(parents=True, exist_ok=True)
    (RESULTS / "postgresql").mkdir(parents=True, exist_ok=True)
    prepared = prepare("postgresql", f"postgresql+asyncpg://postgres@{HOST}:5432/"
                       f"{args.database_name}", args.database_name, argparse.Namespace(
                           no_seed=True, customers=args.customers, scenarios=[args.scenario]))
    run = prepared["runs"][args.scenario]
    env = service_env(prepared["data_dir"],
                      f"postgresql+asyncpg://postgres@{HOST}:5432/{args.database_name}",
                      PYTHONPATH=str(Path(__file__).resolve().parent))
    findings = {"load_average_before": os.getloadavg()}
    steps = {"profile": record_profile, "probe": probe, "ab": sealer_ab}
    for step in args.steps:
        findings[step] = steps[step](env, run, args, out)
        print(json.dumps({step: findings[step]}, indent=2), flush=True)
    findings["load_average_after"] = os.getloadavg()
    (out / f"{args.scenario}.json").write_text(json.dumps(findings, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
