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
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "random_read.lua"
HOST = "127.0.0.1"
POSTGRES_PORT = 5432
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


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
def serving(target: str, port: int, env: dict, log: Path, *, workers: int = 1):
    """Run uvicorn for `target` on the loopback port; stop it on the way out."""
    if answers(port):
        raise RuntimeError(f"port {port} is already in use; stop whatever listens there")
    command = uvicorn_command(target, port, workers=workers)
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
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
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "non_2xx": int(non_2xx[1]) if non_2xx else 0,
            "socket_errors": socket_errors[1].strip() if socket_errors else ""}


def wrk(base_url: str, seconds: int, env: dict) -> dict:
    """Run wrk with 2 threads and 16 connections; return the parsed figures and the report.

    The 10 s timeout (wrk's default is 2 s) keeps slow answers in the latency figures instead of
    dropping them as socket timeouts.
    """
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "10s",
               "-s", str(LUA), base_url]
    done = subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    return {**parse(done.stdout), "text": done.stdout}
