"""Flat in data size: the service's reads on a small and a large database, alternating rounds.

Issue 12: the read's throughput and p99 at 1,000,000 customers and 10,000,000 audit entries
within 10 % of the 10,000-customer figure. Both databases are seeded set-based (`--seed`, or by
earlier runs of `run.py`/this script); each round starts the service alone on the small database,
then on the large one (the order alternates), and runs every scenario with wrk. The ratios
large/small are taken within each round; their median is reported against the 10 % band.
"""

import argparse
import json
import shutil
import sys
from argparse import Namespace
from statistics import median

from measure import (
    HOST,
    POSTGRES_PORT,
    answers,
    checkpoint,
    load_average,
    service_env,
    serving_replicas,
    wait_until_serving,
    wrk,
)
from run import APPS, RESULTS, SCENARIOS, prepare

BAND = 0.10


def main() -> int:
    """Measure; exit 1 on an error answer, 2 without wrk or PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000, help="customers of the small database")
    parser.add_argument("--large", type=int, default=1_000_000, help="customers of the large one")
    parser.add_argument("--large-audit-rows", type=int, default=10_000_000)
    parser.add_argument("--small-database", default="bench_privacy")
    parser.add_argument("--large-database", default="bench_scale")
    parser.add_argument("--seed", action="store_true", help="seed both databases first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--port", type=int, default=8101, help="the service's port")
    args = parser.parse_args()
    if shutil.which("wrk") is None or not answers(POSTGRES_PORT):
        print("needs wrk and PostgreSQL on 127.0.0.1:5432", file=sys.stderr)
        return 2
    out = RESULTS / "flat"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sizes = {"small": (args.small, 10 * args.small, args.small_database),
             "large": (args.large, args.large_audit_rows, args.large_database)}
    prepared = {}
    for label, (customers, audit_rows, database) in sizes.items():
        url = f"postgresql+asyncpg://postgres@{HOST}:{POSTGRES_PORT}/{database}"
        (out / label).mkdir()
        options = Namespace(no_seed=not args.seed, customers=customers, audit_rows=audit_rows,
                            scenarios=args.scenarios)
        prepared[label] = (url, database, prepare(f"flat/{label}", url, database, options))
    measured = {s: {label: [] for label in sizes} for s in args.scenarios}
    print(f"load average before: {load_average()}", flush=True)
    target, offset = APPS["service"]
    port = args.port + offset
    for number in range(1, args.rounds + 1):
        labels = list(sizes) if number % 2 else list(reversed(sizes))
        for label in labels:
            url, database, runs = prepared[label]
            env = service_env(runs["data_dir"], url)
            log = out / f"{label}.round{number}.log"
            with serving_replicas(target, [port], env, log) as (process,):
                for scenario, run in runs["runs"].items():
                    base = f"http://{HOST}:{port}"
                    wait_until_serving(base + run["probe"], run["headers"], process, 60)
                    wrk(base, args.warmup, run["env"])
                    checkpoint(url, database)
                    report = wrk(base, args.duration, run["env"])
                    (out / f"{scenario}.{label}.round{number}.wrk.txt").write_text(report["text"])
                    measured[scenario][label].append(report)
                    print(f"round {number} {scenario:<10} {label:<5} {report['rps']:7.1f} req/s "
                          f"p99 {report['p99_ms']:6.1f} ms", flush=True)
    print(f"load average after: {load_average()}\n", flush=True)
    within, failed, summary = True, False, {}
    print(f"{'scenario':<11}{'small req/s':>12}{'large req/s':>12}{'rps large/small':>17}"
          f"{'p99 large/small':>17}")
    for scenario, per_size in measured.items():
        pairs = list(zip(per_size["small"], per_size["large"], strict=True))
        rps = median(large["rps"] / small["rps"] for small, large in pairs)
        p99 = median(large["p99_ms"] / small["p99_ms"] for small, large in pairs)
        ok = rps >= 1 - BAND and p99 <= 1 + BAND
        within &= ok
        failed |= any(r["non_2xx"] or r["socket_errors"] for r in per_size["small"]
                      + per_size["large"])
        summary[scenario] = {"rps_large_over_small": rps, "p99_large_over_small": p99,
                             "small_rps": median(s["rps"] for s, _ in pairs),
                             "large_rps": median(large["rps"] for _, large in pairs)}
        print(f"{scenario:<11}{summary[scenario]['small_rps']:>12.1f}"
              f"{summary[scenario]['large_rps']:>12.1f}{rps:>17.2f}{p99:>17.2f}"
              f"  {'within 10%' if ok else 'OUTSIDE 10%'}")
    (out / "summary.json").write_text(json.dumps({"args": vars(args), "summary": summary},
                                                 indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
