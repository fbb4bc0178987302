"""Throughput and p99 of the audited customer read against a bare read, with wrk, on loopback.

For SQLite, and for PostgreSQL when one answers on 127.0.0.1:5432: seed 10,000 customers into a
fresh database, then round after round serve the bare baseline (port 8102) and then the service
(port 8101), one at a time, each with one uvicorn worker, a warm-up and a measured
`wrk -t2 -c16 --latency` run; each app's median round counts.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from seed import seed

from app.core.config import Settings, resolve_secrets
from app.core.security import mint_token
from app.policy.roles import Role

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LUA = BENCH / "random_customer.lua"
HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_URL = f"postgresql+asyncpg://postgres@{HOST}:{POSTGRES_PORT}/privacy_bench"
APPS = (("baseline", "baseline_app:app", 8102), ("service", "app.main:app", 8101))
TARGET_RATIO = 0.6
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((HOST, port)) == 0


def busy_percent(seconds: float = 1.0) -> float | None:
    """Share of all cores other processes keep busy over `seconds` (None without /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return None
    return 100.0 * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def wait_until_serving(url: str, headers: dict, process: subprocess.Popen, seconds: float) -> None:
    """Poll one customer read until it answers 200; fail on an error answer or a dead server."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5):
                return
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{url} answered {error.code}: {error.read()[:300]!r}") from None
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f}s")


@contextmanager
def serving(target: str, port: int, env: dict, log: Path):
    """Run one uvicorn worker for `target` on the loopback port; stop it on the way out."""
    if answers(port):
        raise RuntimeError(f"port {port} is already in use; stop whatever listens there")
    command = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(BENCH), "--host", HOST,
               "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def checkpoint(url: str) -> None:
    """On PostgreSQL, vacuum and flush now, so no run pays for the writes of the one before."""
    if url.startswith("postgresql") and shutil.which("psql"):
        command = ["psql", "-h", HOST, "-U", "postgres", "-d", "privacy_bench", "-q",
                   "-c", "VACUUM ANALYZE", "-c", "CHECKPOINT"]
        subprocess.run(command, check=True, timeout=300)


def wrk(url: str, seconds: int, env: dict) -> str:
    """Run wrk with 2 threads and 16 connections against `url`; return its report.

    The 10 s timeout (wrk's default is 2 s) keeps slow answers in the latency figures instead of
    dropping them as socket timeouts.
    """
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s",
               "-s", str(LUA), url]
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    return done.stdout


def parse(report: str) -> dict:
    """Requests/s, p99 in ms and error counts from a wrk report."""
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", report, re.M).groups()
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket_errors = re.search(r"Socket errors:\s+(.+)", report)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", report)[1]),
            "p99_ms": float(value) * UNITS_MS[unit],
            "non_2xx": int(non_2xx[1]) if non_2xx else 0,
            "socket_errors": socket_errors[1].strip() if socket_errors else ""}


def bench_database(name: str, url: str, args: argparse.Namespace) -> dict[str, dict]:
    """Seed a fresh database, then measure the baseline and the service one after the other."""
    data_dir = RESULTS / name
    settings = Settings(data_dir=data_dir, database_url=url)
    started = time.monotonic()
    ids = seed(settings, args.customers)
    print(f"[{name}] seeded {len(ids)} customers in {time.monotonic() - started:.1f}s",
          flush=True)
    ids_file = data_dir / "customer_ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    token = mint_token(resolve_secrets(settings), role=Role.SUPPORT_AGENT, sub="agent-7")
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "service"}
    # The rate limiter stays on (its cost is measured) with a read limit wrk cannot reach.
    server_env = {**os.environ, "PRIVACY_DATA_DIR": str(data_dir), "PRIVACY_DATABASE_URL": url,
                  "PRIVACY_LOG_LEVEL": "warning", "PRIVACY_RATE_LIMIT_READS": "10000000/minute"}
    wrk_env = {**os.environ, "BENCH_IDS": str(ids_file), "BENCH_TOKEN": token}
    rounds: dict[str, list[dict]] = {app: [] for app, _, _ in APPS}
    busy = busy_percent()
    if busy is not None and busy > 10:
        print(f"[{name}] warning: other processes keep {busy:.0f}% of the CPU busy; "
              "these figures are unreliable", flush=True)
    for number in range(1, args.rounds + 1):
        for app, target, port in APPS:
            with serving(target, port, server_env, data_dir / f"{app}.log") as process:
                wait_until_serving(f"http://{HOST}:{port}/v1/customers/{ids[0]}", headers,
                                   process, 60)
                wrk(f"http://{HOST}:{port}", args.warmup, wrk_env)
                checkpoint(url)
                report = wrk(f"http://{HOST}:{port}", args.duration, wrk_env)
            (data_dir / f"{app}.round{number}.wrk.txt").write_text(report)
            rounds[app].append(parse(report))
        ratio = rounds["service"][-1]["rps"] / rounds["baseline"][-1]["rps"]
        print(f"[{name}] round {number}: baseline {rounds['baseline'][-1]['rps']:8.1f} req/s, "
              f"service {rounds['service'][-1]['rps']:8.1f} req/s, ratio {ratio:.2f}",
              flush=True)
    results = {app: median_round(measured) for app, measured in rounds.items()}
    ratios = sorted(s["rps"] / b["rps"] for s, b in zip(rounds["service"], rounds["baseline"],
                                                         strict=True))
    results["service"]["ratio"] = ratios[len(ratios) // 2]
    return results


def median_round(measured: list[dict]) -> dict:
    """The round with the median throughput, its error counts summed over all rounds."""
    middle = sorted(measured, key=lambda r: r["rps"])[len(measured) // 2]
    return {**middle, "non_2xx": sum(r["non_2xx"] for r in measured)}


def print_table(measured: dict[str, dict[str, dict]]) -> None:
    """Both apps' figures and the service/baseline throughput ratio per database."""
    print(f"\n{'database':<11}{'app':<10}{'req/s':>10}{'p99 ms':>10}  errors")
    for database, results in measured.items():
        for app, r in results.items():
            errors = f"non-2xx {r['non_2xx']}" if r["non_2xx"] else ""
            errors += f" socket: {r['socket_errors']}" if r["socket_errors"] else ""
            print(f"{database:<11}{app:<10}{r['rps']:>10.1f}{r['p99_ms']:>10.2f}  {errors}")
        ratio = results["service"]["ratio"]
        p99 = results["service"]["p99_ms"] / results["baseline"]["p99_ms"]
        print(f"{database:<11}{'ratio':<10}{ratio:>10.2f}{p99:>9.2f}x  (service / baseline: "
              "median of the rounds' throughput ratios; median p99s)")
    if "postgresql" in measured:
        ratio = measured["postgresql"]["service"]["ratio"]
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"\ntarget: service >= {TARGET_RATIO} x baseline throughput on PostgreSQL: "
              f"{verdict} ({ratio:.2f})")


def main() -> int:
    """Run the benchmark; non-zero if wrk is missing or a run answered errors."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating measured rounds per app; the median round counts")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per round")
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"),
                        default=["sqlite", "postgresql"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed; install it with: "
              "sudo apt-get update && sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    databases = {}
    if "sqlite" in args.databases:
        databases["sqlite"] = f"sqlite+aiosqlite:///{RESULTS / 'sqlite' / 'bench.db'}"
    if "postgresql" in args.databases:
        if answers(POSTGRES_PORT):
            databases["postgresql"] = POSTGRES_URL
        else:
            print(f"PostgreSQL skipped: nothing answers on {HOST}:{POSTGRES_PORT}")
    measured = {name: bench_database(name, url, args) for name, url in databases.items()}
    if measured:
        print_table(measured)
    print(f"\nwrk reports and server logs: {RESULTS}")
    failed = any(r["non_2xx"] for results in measured.values() for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
