"""Rate limits per actor and per client address, per route class: sliding-window counters.

A limit of N calls per W seconds counts calls in fixed windows of W seconds and refuses a call
when this window's count plus the previous window's count, weighted by how much of the previous
window still lies within the last W seconds, would exceed N. Counts live in Redis when
`PRIVACY_REDIS_URL` is set (shared by every replica; a call's actor and address counters are
checked and counted by one script, in one round trip), in memory otherwise. The actor is the
verified token's (a partner counts as one actor); a request whose token does not verify is
counted by its address only. If Redis cannot be reached, requests are let through and a warning
is logged: an outage of the counter must not become an outage of the service.
"""

import logging
import math
import re
import time
from dataclasses import dataclass
from enum import StrEnum

from limits import parse
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.core.config import Settings
from app.core.errors import AppError, problem_response
from app.core.security import Actor
from app.policy.roles import Role

logger = logging.getLogger("app.ratelimit")

REDIS_TIMEOUT_SECONDS = 0.5
REDIS_KEY_PREFIX = "privacy-api:rate:"
MEMORY_SWEEP_KEYS = 100_000
"""Counters kept in memory before the ones of past windows are dropped."""
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


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `amount` calls per `seconds`."""

    amount: int
    seconds: int

    def scaled(self, factor: int) -> "Limit":
        return self if factor == 1 else Limit(self.amount * factor, self.seconds)


@dataclass(frozen=True, slots=True)
class Window:
    """A counter's state when a call was refused: previous and current counts, seconds into
    the current window."""

    previous: int
    count: int
    elapsed: float

    def wait(self, limit: Limit) -> int:
        """Whole seconds until the counter takes a call again (at least 1, at most a window)."""
        room = limit.amount - 1 - self.count  # what the weighted previous count must fall to
        if room >= 0 and self.previous:
            seconds = limit.seconds * (1 - room / self.previous) - self.elapsed
        else:  # only the next window helps, and then the current count weighs as previous
            seconds = limit.seconds - self.elapsed + limit.seconds * (
                1 - (limit.amount - 1) / max(self.count, 1))
        return min(limit.seconds, max(1, math.ceil(seconds)))


Check = tuple[str, Limit]
"""A counter key and the limit it is held to."""


class MemoryCounters:
    """Sliding-window counters in this process."""

    def __init__(self) -> None:
        self._counters: dict[str, list] = {}  # key -> [seconds, window, count, previous]
        self._sweep_at = MEMORY_SWEEP_KEYS

    async def hit(self, checks: list[Check]) -> tuple[int, Window] | None:
        """Count the call on each counter in turn; at the first one that is full, stop and
        return its position and state."""
        now = time.time()
        for position, (key, limit) in enumerate(checks):
            window, elapsed = divmod(now, limit.seconds)
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = [limit.seconds, window, 0, 0]
            elif counter[1] != window:
                counter[3] = counter[2] if counter[1] == window - 1 else 0
                counter[1], counter[2] = window, 0
            previous, count = counter[3], counter[2]
            if previous * (limit.seconds - elapsed) / limit.seconds + count + 1 > limit.amount:
                return position, Window(previous, count, elapsed)
            counter[2] = count + 1
        if len(self._counters) > self._sweep_at:
            self._sweep(now)
        return None

    def _sweep(self, now: float) -> None:
        """Drop counters whose windows have both passed."""
        self._counters = {key: counter for key, counter in self._counters.items()
                          if counter[1] >= now // counter[0] - 1}
        self._sweep_at = max(MEMORY_SWEEP_KEYS, 2 * len(self._counters))


# KEYS: one hash per counter; ARGV: amount and seconds of each. Redis's clock, so replicas agree.
_HIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
for i, key in ipairs(KEYS) do
  local amount, seconds = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local window = math.floor(now / seconds)
  local elapsed = now - window * seconds
  local state = redis.call('HMGET', key, 'window', 'count', 'previous')
  local last, count, previous = tonumber(state[1]), tonumber(state[2]) or 0,
                                tonumber(state[3]) or 0
  if last ~= window then
    if last == window - 1 then previous = count else previous = 0 end
    count = 0
  end
  if previous * (seconds - elapsed) / seconds + count + 1 > amount then
    return {i, previous, count, tostring(elapsed)}
  end
  redis.call('HSET', key, 'window', window, 'count', count + 1, 'previous', previous)
  redis.call('EXPIRE', key, 2 * seconds)
end
return {0}
"""


class RedisCounters:
    """Sliding-window counters in Redis, shared by every replica."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                     socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                     retry=Retry(NoBackoff(), 0))
        self._script = self._redis.register_script(_HIT)

    async def hit(self, checks: list[Check]) -> tuple[int, Window] | None:
        """As `MemoryCounters.hit`, in one script call."""
        keys = [REDIS_KEY_PREFIX + key for key, _ in checks]
        args = [n for _, limit in checks for n in (limit.amount, limit.seconds)]
        found = await self._script(keys=keys, args=args)
        if not found[0]:
            return None
        return int(found[0]) - 1, Window(int(found[1]), int(found[2]), float(found[3]))


class RateLimits:
    """The configured limits and the counters they are kept in."""

    def __init__(self, settings: Settings) -> None:
        limits = {cls: _parsed(getattr(settings, f"rate_limit_{cls}")) for cls in RouteClass}
        factors: dict[Role | None, int] = {
            None: 1, **{role: settings.rate_limit_role_factors.get(str(role), 1) for role in Role}}
        address_factor = settings.rate_limit_address_factor
        # per class and role (None: no verified actor): the actor's limit and the address's
        self._limits = {(cls, role): (limit.scaled(factor), limit.scaled(factor * address_factor))
                        for cls, limit in limits.items() for role, factor in factors.items()}
        self._counters = (RedisCounters(settings.redis_url) if settings.redis_url
                          else MemoryCounters())

    async def refusal(self, cls: RouteClass, *, actor: Actor | None, address: str):
        """A 429 response if this call is over a limit, else None (the call is counted)."""
        actor_limit, address_limit = self._limits[cls, actor.role if actor else None]
        checks = [_check(cls, "address", address, address_limit)]
        if actor is not None:
            who = f"{actor.role}:{actor.partner_id or actor.sub}"
            checks.insert(0, _check(cls, "actor", who, actor_limit))
        try:
            full = await self._counters.hit(checks)
        except (RedisError, OSError):
            logger.warning("rate limit store unreachable; %s not counted", cls)
            return None
        if full is None:
            return None
        position, window = full
        return _too_many(cls, checks[position][1], window.wait(checks[position][1]))


def _parsed(notation: str) -> Limit:
    """A limit written in the `limits` notation, e.g. `600/minute` or `10 per 2 seconds`."""
    item = parse(notation)
    return Limit(item.amount, item.get_expiry())


def _check(cls: RouteClass, kind: str, who: str, limit: Limit) -> Check:
    return f"{cls}/{kind}/{limit.amount}/{limit.seconds}/{who}", limit


def _too_many(cls: RouteClass, limit: Limit, retry_after: int):
    return problem_response(
        status=429, code="rate_limited", title="Too many requests",
        detail=f"At most {limit.amount} {cls.value.replace('_', ' ')} per {limit.seconds} "
               f"seconds; try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after),
                 "RateLimit-Policy": f'"{cls}";q={limit.amount};w={limit.seconds}',
                 "RateLimit": f'"{cls}";r=0;t={retry_after}'})


TOKEN_CHECK = "token_check"
"""Request state key of the bearer token's outcome: the `Actor`, or the error refusing it."""


async def verified_actor(scope, authorization: bytes) -> Actor | None:
    """The actor of a token that verifies (cached by the verifier), else None; the outcome is
    kept in the request state, so the route does not verify again."""
    verifier = getattr(scope["app"].state, "verifier", None)
    scheme, _, token = authorization.partition(b" ")
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
