"""Running servers and wrk for the benchmarks: start, probe, load, measure, stop."""

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
from contextlib import ExitStack, contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "random_read.lua"
HOST = "127.0.0.1"
POSTGRES_PORT = 5432
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def service_env(data_dir: object, database_url: str, **extra: str) -> dict[str, str]:
    """The service's environment in every benchmark: its data and database, warnings only, and
    rate limits kept on (their cost is measured) with limits no load here can reach."""
    return {**os.environ, "PRIVACY_DATA_DIR": str(data_dir), "PRIVACY_DATABASE_URL": database_url,
            "PRIVACY_LOG_LEVEL": "warning",
            **{f"PRIVACY_RATE_LIMIT_{kind}": "10000000/minute"
               for kind in ("READS", "WRITES", "RIGHTS_REQUESTS", "CODE_CHECKS")}, **extra}


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((HOST, port)) == 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and all its descendants (e.g. a
    uvicorn supervisor and its workers); 0 where /proc is missing."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        process = int(stat.parent.name)
        parents[process] = int(fields[1])
        used[process] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        children = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(used.get(process, 0.0) for process in tree)


def wait_until_serving(url: str, headers: dict, process: subprocess.Popen, seconds: float) -> None:
    """Poll one read until it answers 200; fail on an error answer or a dead server."""
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


def uvicorn_command(target: str, port: int, *, workers: int = 1) -> list[str]:
    """uvicorn serving `target` (importable from bench/ or the project) on the loopback port,
    with the options `privacy-api serve` uses (uvloop, httptools, proxy headers, no access log
    of uvicorn's own), the same for every app."""
    return [sys.executable, "-m", "uvicorn", target, "--app-dir", str(BENCH), "--host", HOST,
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--loop", "uvloop", "--http", "httptools", "--proxy-headers", "--no-access-log",
            "--no-server-header"]


@contextmanager
def serving(target: str, port: int, env: dict, log: Path, *, workers: int = 1,
            cwd: Path = ROOT):
    """Run uvicorn for `target` on the loopback port, importing the app from `cwd` (another
    tree's code, e.g. an export of an earlier commit); stop it on the way out."""
    if answers(port):
        raise RuntimeError(f"port {port} is already in use; stop whatever listens there")
    command = uvicorn_command(target, port, workers=workers)
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def serving_replicas(target: str, ports: list[int], env: dict, log: Path, *, workers: int = 1):
    """Run one uvicorn server for `target` per port (replicas on one database); stop them all."""
    with ExitStack() as stack:
        yield [stack.enter_context(serving(target, port, env, log.with_suffix(f".{port}.log"),
                                           workers=workers)) for port in ports]


@contextmanager
def background_worker(env: dict, log: Path):
    """Run `privacy-api worker` (the background work without HTTP) next to a server; stop it
    on the way out."""
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT,
                                   env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def psql(database: str, *commands: str, timeout: float = 600) -> str:
    """Run SQL commands with psql as `postgres` on the loopback server; return the output."""
    command = ["psql", "-h", HOST, "-U", "postgres", "-d", database, "-q", "-X", "-A"]
    for sql in commands:
        command += ["-c", sql]
    return subprocess.run(command, check=True, timeout=timeout, capture_output=True,
                          text=True).stdout


def checkpoint(url: str, database: str) -> None:
    """On PostgreSQL, vacuum and flush now, so no run pays for the writes of the one before."""
    if url.startswith("postgresql") and shutil.which("psql"):
        psql(database, "VACUUM ANALYZE", "CHECKPOINT")


def parse(report: str) -> dict:
    """Requests/s, p50/p99 in ms and error counts from a wrk report."""
    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", report, re.M).groups()
        return float(value) * UNITS_MS[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket_errors = re.search(r"Socket errors:\s+(.+)", report)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", report)[1]),
            "requests": int(re.search(r"(\d+) requests in", report)[1]),
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "non_2xx": int(non_2xx[1]) if non_2xx else 0,
            "socket_errors": socket_errors[1].strip() if socket_errors else ""}


def wrk(base_url: str, seconds: int, env: dict, *, ports: list[int] | None = None) -> dict:
    """Run wrk with 2 threads and 16 connections; return the parsed figures and the report.

    The 10 s timeout (wrk's default is 2 s) keeps slow answers in the latency figures instead of
    dropping them as socket timeouts. With several `ports` (replicas), wrk runs one thread per
    replica (at least 2) and the 16 connections are spread evenly over them.
    """
    threads = max(2, len(ports or ()))
    if ports and len(ports) > 1:
        env = {**env, "BENCH_PORTS": ",".join(map(str, ports))}
    command = ["wrk", f"-t{threads}", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s",
               "-s", str(LUA), base_url]
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    return {**parse(done.stdout), "text": done.stdout}
