"""What each request did, seen from outside the routes: the access log line and metrics.

The request pipeline (`app.core.pipeline`) learns the caller's role from the token verifier
(wrapped by `ObservedVerifier`) and the problem `code` of an error response, and records the
route template, status and duration here.
"""

import json
import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass

from app.observability.metrics import record_request

access_logger = logging.getLogger("app.access")

UNMATCHED_ROUTE = "unmatched"


@dataclass
class RequestFacts:
    """What is known about the current request; never personal values."""

    role: str = "-"
    problem_code: str | None = None


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


def problem_code(body: bytes) -> str | None:
    """The `code` of a problem-details body, if it has one."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


def observe() -> tuple[RequestFacts, Token]:
    """Start gathering the current request's facts (`ObservedVerifier` adds the role)."""
    facts = RequestFacts()
    return facts, _facts.set(facts)


def record(scope, token: Token, facts: RequestFacts, *, status: int, seconds: float) -> None:
    """Stop gathering facts; log the access line and feed the request metrics."""
    _facts.reset(token)
    route = _route_template(scope)
    method = scope["method"]
    record_request(method=method, route=route, status=status, seconds=seconds,
                   problem_code=facts.problem_code)
    if access_logger.isEnabledFor(logging.INFO):
        fields = {"method": method, "route": route, "status": status,
                  "duration_ms": round(seconds * 1000, 2), "role": facts.role,
                  "code": facts.problem_code}
        access_logger.info("%s %s %s %.1fms role=%s code=%s", method, route, status,
                           seconds * 1000, facts.role, facts.problem_code or "-",
                           extra={"fields": fields})
