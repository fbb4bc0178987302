"""A fake HTTP SMS gateway for development and tests: prints each SMS it is sent.

    python scripts/fake_sms_gateway.py --port 8199 [--log sms.jsonl] [--fail-first N]
    PRIVACY_SMS_GATEWAY_URL=http://127.0.0.1:8199/sms make run

It accepts `POST` with JSON `{"id", "to", "text"}` on any path and answers 202; the first
`--fail-first` requests get 503 instead, to watch the outbox retry. Each accepted SMS is
appended to `--log` as one JSON line (with the Authorization and Idempotency-Key headers).
Loopback only; standard library only.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def handler(log: Path | None, failures: list[int]) -> type[BaseHTTPRequestHandler]:
    """A request handler recording to `log`, failing while `failures[0]` is positive."""

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if failures[0] > 0:
                failures[0] -= 1
                self._answer(503)
                return
            record = {**payload, "authorization": self.headers.get("Authorization"),
                      "idempotency_key": self.headers.get("Idempotency-Key")}
            if log:
                with log.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
            print(f"SMS to {payload.get('to')}: {payload.get('text')}", flush=True)
            self._answer(202)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    return Gateway


def main() -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--log", type=Path, help="append each accepted SMS as a JSON line")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 this many times")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.log, [args.fail_first]))
    print(f"fake SMS gateway on http://127.0.0.1:{server.server_address[1]}/sms", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
