"""Webhook signatures: HMAC-SHA256 over `<unix timestamp>.<body>`.

Header: `X-Privacy-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`. One `v1` per secret
that is valid now: after a rotation the previous secret signs too, until its grace period
ends, so a receiver can switch secrets at its own pace. A receiver recomputes the HMAC with
its secret, compares in constant time, and refuses a timestamp further than the replay window
(default 300 s, `PRIVACY_WEBHOOK_REPLAY_WINDOW_SECONDS`) from its own clock; it drops a notice
whose `id` it has seen before (delivery is at least once).
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

HEADER = "X-Privacy-Signature"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secrets_: Iterable[str], body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`, one `v1` per secret."""
    parts = [f"t={timestamp}"] + [f"v1={_digest(s, timestamp, body)}" for s in secrets_]
    return ",".join(parts)


def verify_signature(secrets_: str | Iterable[str], header: str, body: bytes, *, now: float,
                     window: int) -> bool:
    """Whether `header` signs `body` with one of `secrets_`, within `window` seconds of `now`."""
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > window:
        return False
    expected = [_digest(key, timestamp, body) for key in keys]
    return any(hmac.compare_digest(e, s) for e in expected for s in signatures)
