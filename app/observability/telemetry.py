"""What each request did, seen from outside the routes: the access log line and metrics.

The middleware learns the caller's role from the token verifier (wrapped by `observed`) and the
problem `code` of an error response, and records the route template, status and duration.
"""

import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass

from app.core.errors import PROBLEM_MEDIA_TYPE
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


def _problem_code(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


class TelemetryMiddleware:
    """Logs one access line per request and feeds the request metrics."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        facts = RequestFacts()
        token = _facts.set(facts)
        status = 500
        problem = False
        started = time.perf_counter()

        async def watching_send(message) -> None:
            nonlocal status, problem
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                problem = headers.get(b"content-type", b"").decode() == PROBLEM_MEDIA_TYPE
            elif message["type"] == "http.response.body" and problem and not facts.problem_code:
                facts.problem_code = _problem_code(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            _facts.reset(token)
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            record_request(method=scope["method"], route=route, status=status,
                           seconds=seconds, problem_code=facts.problem_code)
            fields = {"method": scope["method"], "route": route, "status": status,
                      "duration_ms": round(seconds * 1000, 2), "role": facts.role,
                      "code": facts.problem_code}
            access_logger.info("%s %s %s %.1fms role=%s code=%s", scope["method"], route,
                               status, seconds * 1000, facts.role, facts.problem_code or "-",
                               extra={"fields": fields})
