"""Rate limits per actor and per client address, per route class, with the `limits` library.

Counts live in Redis when `PRIVACY_REDIS_URL` is set (shared by every replica), in memory
otherwise. The actor is the verified token's (a partner counts as one actor); a request whose
token does not verify is counted by its address only. If Redis cannot be reached, requests are
let through and a warning is logged: an outage of the counter must not become an outage of the
service.
"""

import logging
import math
import re
import time
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from app.core.config import Settings
from app.core.errors import AppError, problem_response
from app.core.security import Actor

logger = logging.getLogger("app.ratelimit")

REDIS_TIMEOUT_SECONDS = 0.5
_CODE_CHECK = re.compile(r"^/v1/requests/[^/]+/verify$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RouteClass(StrEnum):
    """Kinds of calls with a limit of their own."""

    READS = "reads"
    WRITES = "writes"
    RIGHTS_REQUESTS = "rights_requests"
    CODE_CHECKS = "code_checks"
    COMPLAINTS = "complaints"


def route_class(method: str, path: str) -> RouteClass | None:
    """The limit a call counts against; None for calls outside the API (probes, docs)."""
    if not path.startswith("/v1/"):
        return None
    if method in _READ_METHODS:
        return RouteClass.READS
    if method == "POST" and path == "/v1/requests":
        return RouteClass.RIGHTS_REQUESTS
    if method == "POST" and path == "/v1/complaints":
        return RouteClass.COMPLAINTS
    if method == "POST" and _CODE_CHECK.match(path):
        return RouteClass.CODE_CHECKS
    return RouteClass.WRITES


class RateLimits:
    """The configured limits and the counter store they are kept in."""

    def __init__(self, settings: Settings) -> None:
        self._items = {cls: parse(getattr(settings, f"rate_limit_{cls}")) for cls in RouteClass}
        self._address_factor = settings.rate_limit_address_factor
        self._role_factors = settings.rate_limit_role_factors
        if settings.redis_url:
            storage = storage_from_string(
                f"async+{settings.redis_url}", implementation="redispy", wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def refusal(self, cls: RouteClass, *, actor: Actor | None, address: str):
        """A 429 response if this call is over a limit, else None (the call is counted)."""
        factor = self._role_factors.get(str(actor.role), 1) if actor else 1
        checks = [(_scaled(self._items[cls], factor * self._address_factor), "address", address)]
        if actor is not None:
            who = f"{actor.role}:{actor.partner_id or actor.sub}"
            checks.insert(0, (_scaled(self._items[cls], factor), "actor", who))
        for item, kind, key in checks:
            try:
                allowed = await self._limiter.hit(item, cls, kind, key)
                if not allowed:
                    stats = await self._limiter.get_window_stats(item, cls, kind, key)
                    return _too_many(cls, item, stats.reset_time)
            except StorageError:
                logger.warning("rate limit store unreachable; %s not counted", cls)
                return None
        return None


def _scaled(item: RateLimitItem, factor: int) -> RateLimitItem:
    if factor == 1:
        return item
    return type(item)(item.amount * factor, item.multiples, item.namespace)


def _too_many(cls: RouteClass, item: RateLimitItem, reset_time: float):
    retry_after = max(1, math.ceil(reset_time - time.time()))
    window = item.get_expiry()
    return problem_response(
        status=429, code="rate_limited", title="Too many requests",
        detail=f"At most {item.amount} {cls.value.replace('_', ' ')} per {window} seconds; "
               f"try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after),
                 "RateLimit-Policy": f'"{cls}";q={item.amount};w={window}',
                 "RateLimit": f'"{cls}";r=0;t={retry_after}'})


class RateLimitMiddleware:
    """Counts each /v1 call against its class's limits before the app does any work for it."""

    def __init__(self, app, *, settings: Settings) -> None:
        self.app = app
        self.limits = RateLimits(settings) if settings.rate_limit_enabled else None

    async def __call__(self, scope, receive, send) -> None:
        cls = route_class(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if self.limits is None or cls is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        refusal = await self.limits.refusal(cls, actor=await _verified_actor(scope),
                                            address=client[0] if client else "unknown")
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


TOKEN_CHECK = "token_check"
"""Request state key of the bearer token's outcome: the `Actor`, or the error refusing it."""


async def _verified_actor(scope) -> Actor | None:
    """The actor of a token that verifies (cached by the verifier), else None."""
    verifier = getattr(scope["app"].state, "verifier", None)
    scheme, _, token = dict(scope["headers"]).get(b"authorization", b"").partition(b" ")
    if verifier is None or scheme.lower() != b"bearer" or not token.strip():
        return None
    state = scope.setdefault("state", {})
    try:
        actor: Actor = await verifier.verify(token.strip().decode("latin-1"))
    except AppError as refusal:
        state[TOKEN_CHECK] = refusal  # the route answers it without verifying again
        return None
    state[TOKEN_CHECK] = actor
    return actor
