"""A real `privacy-api serve` process on a free local port, for tests that need a server."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ENV_WITHOUT_PRIVACY = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_")}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run `privacy-api ARGS` with only the given PRIVACY_* settings."""
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120, env={**ENV_WITHOUT_PRIVACY, **env})


def start_server(*args: str, env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen:
    """Start `privacy-api serve` on `port` (not waiting for it)."""
    log = open(cwd / f"server-{port}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args], cwd=cwd,
        env={**ENV_WITHOUT_PRIVACY, **env}, stdout=log, stderr=subprocess.STDOUT)


def start_worker(*, env: dict[str, str], cwd: Path, name: str = "worker") -> subprocess.Popen:
    """Start `privacy-api worker` (not waiting for it); it logs to `cwd/<name>.log`."""
    log = open(cwd / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=cwd,
                            env={**ENV_WITHOUT_PRIVACY, **env}, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_for_log(path: Path, text: str, process: subprocess.Popen, *,
                 timeout: float = 60) -> None:
    """Wait until `text` appears in the log at `path`; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {path.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged within {timeout} s: {path.read_text()}")


def wait_ready(port: int, process: subprocess.Popen, *, timeout: float = 60) -> httpx.Response:
    """Poll /ready until it answers 200; fail if the server exits or never gets ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server on port {port} exited with {process.returncode}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server on port {port} not ready within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by `start_server`."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(tmp_path: Path, env: dict[str, str] | None = None):
    """Serve a fresh data dir in `tmp_path`; yield (base URL, settings env)."""
    env = {"PRIVACY_DATA_DIR": str(tmp_path / "data"), "PRIVACY_LOG_LEVEL": "WARNING",
           **(env or {})}
    port = free_port()
    process = start_server(env=env, cwd=tmp_path, port=port)
    try:
        wait_ready(port, process)
        yield f"http://127.0.0.1:{port}", env
    finally:
        stop(process)
