"""The request pipeline: what every request goes through before and after its route, as one
plain ASGI middleware that reads the request's headers once.

In order: the request id (`app.core.middleware`); the access log line and metrics (handed to
`app.observability.telemetry`); the size limits (`app.core.limits`); the rate limits
(`app.core.ratelimit`, after verifying the bearer token once for the whole request). A refusal
is answered with its problem details and still gets the request id, the safety headers, a log
line and metrics; a crash becomes a 500 problem and is logged without its message.
"""

import json
import time
from typing import Any, Protocol

from app.core.config import Settings
from app.core.errors import PROBLEM_MEDIA_TYPE
from app.core.limits import BodyTooLarge, RequestLimits, control_characters
from app.core.middleware import internal_error, log_crash, request_id, request_id_var
from app.core.middleware import response_headers as with_safety_headers
from app.core.ratelimit import RateLimits, route_class, verified_actor

_PROBLEM = PROBLEM_MEDIA_TYPE.encode()


class Telemetry(Protocol):
    """Where each request's outcome goes (`app.observability.telemetry.RequestTelemetry`)."""

    def start(self) -> Any: ...

    def finish(self, scope, started: Any, *, status: int, seconds: float,
               problem_code: str | None) -> None: ...


class RequestPipeline:
    """Request ids, access logs and metrics, size limits and rate limits around the app."""

    def __init__(self, app, *, settings: Settings, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limits = RequestLimits(settings)
        self.rate_limits = RateLimits(settings) if settings.rate_limit_enabled else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = authorization = b""
        size, refusal = 0, None
        for name, value in scope["headers"]:
            size += len(name) + len(value)
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                incoming = value
            if refusal is None and name in (b"authorization", b"content-length"):
                refusal = self.limits.header_refusal(name, value)
        rid = request_id(incoming)
        rid_token = request_id_var.set(rid)
        observed = self.telemetry.start()
        personal = scope["path"].startswith("/v1/")
        status, started_response, problem, code = 500, False, False, None

        async def send_observed(message) -> None:
            nonlocal status, started_response, problem, code
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                headers = message.get("headers", [])
                problem = any(name == b"content-type" and value == _PROBLEM
                              for name, value in headers)
                message["headers"] = with_safety_headers(headers, rid, personal)
            elif message["type"] == "http.response.body" and problem and code is None:
                code = _problem_code(message.get("body", b""))
            await send(message)

        try:
            refusal = self.limits.headers_refusal(size) or refusal or control_characters(scope)
            if refusal is None:
                refusal = await self._rate_limit(scope, authorization)
            if refusal is not None:
                await refusal(scope, receive, send_observed)
                return
            try:
                await self.app(scope, self.limits.counted(receive), send_observed)
            except BodyTooLarge:
                if started_response:
                    raise
                await self.limits.body_too_large()(scope, receive, send_observed)
        except Exception as exc:
            log_crash(rid, exc)
            if not started_response:
                for message in internal_error():
                    await send_observed(message)
        finally:
            self.telemetry.finish(scope, observed, status=status, problem_code=code,
                                  seconds=time.perf_counter() - started)
            request_id_var.reset(rid_token)

    async def _rate_limit(self, scope, authorization: bytes):
        """The 429 response if a /v1 call is over its limits, else None (the call counts)."""
        cls = route_class(scope["method"], scope["path"])
        if self.rate_limits is None or cls is None:
            return None
        client = scope.get("client")
        return await self.rate_limits.refusal(
            cls, actor=await verified_actor(scope, authorization),
            address=client[0] if client else "unknown")


def _problem_code(body: bytes) -> str | None:
    """The `code` of a problem-details body, if it has one."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None
