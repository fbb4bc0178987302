"""The server under abuse: oversize bodies and a request flood, with its memory watched.

Starts `privacy-api serve` (default settings, limiter on, embedded SQLite) on 127.0.0.1:8117,
then, one phase after the other:
- oversize bodies: 20 parallel 50 MB bodies with a declared Content-Length and no token, and 20
  parallel chunked 50 MB bodies with a valid token, each sent until the server answers;
- a flood: parallel reads of one customer by that customer, rights requests and complaints.
It prints the server's RSS before, at its peak and after, how many bytes each oversize request
got to send before its answer, and how the answers were distributed (413, 429, 2xx).
"""

import argparse
import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from app.core.config import Settings, resolve_secrets
from app.core.security import mint_token
from app.policy.roles import Role

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "abuse"
HOST, PORT = "127.0.0.1", 8117
MB = 1_000_000
CHUNK = 64 * 1024


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakWatcher(threading.Thread):
    """Samples a process's RSS every 20 ms and keeps the highest value."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, rss_mb(pid), True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)


async def oversize(*, total: int, chunked: bool, token: str | None) -> tuple[str, int]:
    """Send one oversize POST until the server answers; return its status and bytes sent."""
    reader, writer = await asyncio.open_connection(HOST, PORT)
    head = ["POST /v1/customers HTTP/1.1", f"Host: {HOST}", "Content-Type: application/json"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    if token:
        head.append(f"Authorization: Bearer {token}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    answer = asyncio.create_task(reader.readline())
    try:
        while sent < total and not answer.done():
            body = b" " * CHUNK
            writer.write(b"%x\r\n%s\r\n" % (len(body), body) if chunked else body)
            await writer.drain()
            sent += len(body)
        status_line = await asyncio.wait_for(answer, timeout=30)
        status = status_line.split()[1].decode() if status_line else "closed"
    except (ConnectionError, TimeoutError):
        status = answer.result().split()[1].decode() if answer.done() and answer.result() \
            else "reset"
    finally:
        answer.cancel()
        writer.close()
    return status, sent


async def flood(http: httpx.AsyncClient, calls: list[tuple[str, str, dict, dict | None]],
                parallel: int) -> collections.Counter:
    """Run the calls, `parallel` at a time; count the answers by status."""
    counts: collections.Counter = collections.Counter()
    gate = asyncio.Semaphore(parallel)

    async def one(method, url, headers, body) -> None:
        async with gate:
            counts[(await http.request(method, url, headers=headers, json=body)).status_code] += 1

    await asyncio.gather(*(one(*call) for call in calls))
    return counts


async def attack(args, pid: int, tokens: dict[str, str]) -> dict:
    """Both phases; what the server answered and what its memory did."""
    report = {"rss_before": rss_mb(pid)}
    watcher = PeakWatcher(pid)
    watcher.start()
    started = time.monotonic()
    oversized = await asyncio.gather(
        *(oversize(total=args.mb * MB, chunked=False, token=None) for _ in range(args.parallel)),
        *(oversize(total=args.mb * MB, chunked=True, token=tokens["storefront"])
          for _ in range(args.parallel)))
    report["oversize_seconds"] = time.monotonic() - started
    report["oversize"] = {kind: (collections.Counter(s for s, _ in part),
                                 max(sent for _, sent in part))
                          for kind, part in (("declared", oversized[:args.parallel]),
                                             ("chunked", oversized[args.parallel:]))}
    report["rss_after_oversize"] = rss_mb(pid)
    customer = {"Authorization": f"Bearer {tokens['customer']}", "X-Purpose": "self"}
    calls = {
        "reads": [("GET", f"/v1/customers/{tokens['customer_id']}", customer, None)]
        * args.reads,
        "rights requests": [("POST", "/v1/requests", customer,
                             {"customer_id": tokens["customer_id"], "type": "access"})] * 50,
        "complaints": [("POST", "/v1/complaints", customer,
                        {"customer_id": tokens["customer_id"], "body": "Where is it?"})] * 200,
    }
    report["flood"] = {}
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{PORT}", timeout=60) as http:
        for name, batch in calls.items():
            started = time.monotonic()
            counts = await flood(http, batch, 50)
            report["flood"][name] = (counts, time.monotonic() - started)
        report["server_header"] = (await http.get("/health")).headers.get("server")
    watcher.running = False
    watcher.join()
    report["rss_peak"], report["rss_after"] = watcher.peak, rss_mb(pid)
    return report


def serve(data_dir: Path, log: Path) -> subprocess.Popen:
    """`privacy-api serve` on the bench port, as `make run` would start it."""
    command = [str(Path(sys.executable).parent / "privacy-api"), "serve", "--port", str(PORT)]
    env = {**os.environ, "PRIVACY_DATA_DIR": str(data_dir), "PRIVACY_LOG_LEVEL": "warning"}
    env.pop("PRIVACY_DATABASE_URL", None)
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{PORT}/ready", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"server did not become ready; see {log}")


def create_customer(storefront: str) -> str:
    """A customer for the flood to read, created by the storefront."""
    response = httpx.post(f"http://{HOST}:{PORT}/v1/customers",
                          headers={"Authorization": f"Bearer {storefront}"},
                          json={"name": "Abuse Bench", "email": "abuse.bench@example.com"})
    response.raise_for_status()
    return response.json()["id"]


def print_report(report: dict, args) -> None:
    print(f"\nserver RSS: before {report['rss_before']:.0f} MB, peak {report['rss_peak']:.0f} MB, "
          f"after oversize bodies {report['rss_after_oversize']:.0f} MB, "
          f"at the end {report['rss_after']:.0f} MB")
    print(f"\noversize bodies ({args.parallel} x {args.mb} MB each kind, "
          f"{report['oversize_seconds']:.1f} s):")
    for kind, (statuses, most) in report["oversize"].items():
        print(f"  {kind:<9} answers {dict(statuses)}; most bytes sent before the answer: "
              f"{most / MB:.1f} MB")
    print("\nflood (one customer token, 50 in parallel):")
    for name, (counts, seconds) in report["flood"].items():
        print(f"  {name:<16} {sum(counts.values()):>5} calls in {seconds:5.1f} s: "
              f"{dict(sorted(counts.items()))}")
    print(f"\nServer header: {report['server_header'] or 'none'}")


def main() -> int:
    """Run the attack; non-zero unless every oversize body was answered 413."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parallel", type=int, default=20, help="oversize bodies of each kind")
    parser.add_argument("--mb", type=int, default=50, help="size of each oversize body")
    parser.add_argument("--reads", type=int, default=2000, help="reads in the flood")
    args = parser.parse_args()
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    settings = resolve_secrets(Settings(_env_file=None, data_dir=RESULTS))  # the server's too
    storefront = mint_token(settings, role=Role.STOREFRONT, sub="storefront-abuse")
    process = serve(RESULTS, RESULTS / "server.log")
    try:
        customer_id = create_customer(storefront)
        tokens = {"storefront": storefront, "customer_id": customer_id,
                  "customer": mint_token(settings, role=Role.CUSTOMER, sub=customer_id)}
        report = asyncio.run(attack(args, process.pid, tokens))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    print_report(report, args)
    refused = sum(s.get("413", 0) for s, _ in report["oversize"].values())
    return 0 if refused == 2 * args.parallel else 1


if __name__ == "__main__":
    sys.exit(main())
