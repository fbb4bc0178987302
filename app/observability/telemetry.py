"""What each request did, seen from outside the routes: the access log line and metrics.

The request pipeline (`app.core.pipeline`) tells `RequestTelemetry` the status, duration and
problem `code` of each request; the caller's role comes from the token verifier (wrapped by
`ObservedVerifier`). Lines and metrics name the route template, never the path a client sent.
"""

import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass

from app.observability.metrics import record_request

access_logger = logging.getLogger("app.access")

UNMATCHED_ROUTE = "unmatched"


@dataclass
class RequestFacts:
    """What is known about the current request's caller; never personal values."""

    role: str = "-"


_facts: ContextVar[RequestFacts | None] = ContextVar("request_facts", default=None)


class ObservedVerifier:
    """A token verifier that tells the current request's facts who the caller is."""

    def __init__(self, verifier) -> None:
        self._verifier = verifier

    async def verify(self, token: str):
        """Verify as the wrapped verifier does, noting the caller's role."""
        actor = await self._verifier.verify(token)
        facts = _facts.get()
        if facts is not None:
            facts.role = str(actor.role)
        return actor


def _route_template(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class RequestTelemetry:
    """The access log line and the request metrics, fed by the request pipeline."""

    def start(self) -> Token:
        """Start gathering the current request's facts (`ObservedVerifier` adds the role)."""
        return _facts.set(RequestFacts())

    def finish(self, scope, started: Token, *, status: int, seconds: float,
               problem_code: str | None) -> None:
        """Log the access line and feed the metrics; stop gathering facts."""
        facts = _facts.get() or RequestFacts()
        _facts.reset(started)
        route = _route_template(scope)
        method = scope["method"]
        record_request(method=method, route=route, status=status, seconds=seconds,
                       problem_code=problem_code)
        if access_logger.isEnabledFor(logging.INFO):
            fields = {"method": method, "route": route, "status": status,
                      "duration_ms": round(seconds * 1000, 2), "role": facts.role,
                      "code": problem_code}
            access_logger.info("%s %s %s %.1fms role=%s code=%s", method, route, status,
                               seconds * 1000, facts.role, problem_code or "-",
                               extra={"fields": fields})
