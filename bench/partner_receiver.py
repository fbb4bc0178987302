"""A tiny partner endpoint for trying the signed webhooks locally: prints what it receives
and whether the signature holds.

    .venv/bin/python bench/partner_receiver.py --port 8199 --secret whsec_...

It answers 200 to every POST; a real receiver also drops a notice whose `id` it has seen.
"""

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from app.partners.signing import HEADER, verify_signature

REPLAY_WINDOW_SECONDS = 300


def handler(secrets: list[str]) -> type[BaseHTTPRequestHandler]:
    """A request handler that checks signatures against `secrets`."""

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signature = self.headers.get(HEADER, "")
            valid = bool(secrets) and verify_signature(
                secrets, signature, body, now=time.time(), window=REPLAY_WINDOW_SECONDS)
            print(f"POST {self.path} event={self.headers.get('X-Privacy-Event')} "
                  f"signature={'valid' if valid else 'NOT verified'}")
            print(json.dumps(json.loads(body or b"{}"), indent=2), flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return Receiver


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--secret", action="append", default=[],
                        help="signing secret(s) to verify with (repeatable)")
    args = parser.parse_args()
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    HTTPServer(("127.0.0.1", args.port), handler(args.secret)).serve_forever()


if __name__ == "__main__":
    main()
