"""Request ids, safety headers and the last-resort error guard, as one plain ASGI middleware.

Every response says `X-Content-Type-Options: nosniff`; every /v1 response, which may carry
personal data, also says `Cache-Control: no-store`.
"""

import json
import logging
import re
import traceback
import uuid
from contextvars import ContextVar

from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

logger = logging.getLogger("app.request")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SAFETY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
_INTERNAL_ERROR = json.dumps({
    "type": PROBLEM_TYPE_BASE + "internal_error", "title": "Internal server error",
    "status": 500, "detail": "Something went wrong on our side; nothing was saved.",
    "code": "internal_error",
}).encode()


class RequestContextMiddleware:
    """Tags each request with an `X-Request-ID` and turns crashes into problem details.

    Crashes are logged with their traceback frames but without the exception message, which
    could carry personal data from the request or the database.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = False
        extra = [(b"x-request-id", request_id.encode()), *_SAFETY_HEADERS]
        personal = scope["path"].startswith("/v1/")

        async def send_with_id(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", []), *extra]
                if personal and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # public reads set their own
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("request %s failed with %s\n%s", request_id, type(exc).__name__, frames)
            if not started:
                await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(_INTERNAL_ERROR)).encode())]})
                await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            request_id_var.reset(token)
