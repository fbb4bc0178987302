"""Request ids, safety headers and the last-resort error answer, for the request pipeline.

Every response says `X-Content-Type-Options: nosniff`; every /v1 response, which may carry
personal data, also says `Cache-Control: no-store`.
"""

import json
import logging
import os
import re
import traceback
from contextvars import ContextVar

from app.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

logger = logging.getLogger("app.request")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
SAFETY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
NO_STORE = (b"cache-control", b"no-store")
_INTERNAL_ERROR = json.dumps({
    "type": PROBLEM_TYPE_BASE + "internal_error", "title": "Internal server error",
    "status": 500, "detail": "Something went wrong on our side; nothing was saved.",
    "code": "internal_error",
}).encode()


def internal_error() -> tuple[dict, dict]:
    """The ASGI messages of the 500 problem response."""
    return ({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(_INTERNAL_ERROR)).encode())]},
            {"type": "http.response.body", "body": _INTERNAL_ERROR})


def request_id(incoming: bytes) -> str:
    """The client's `X-Request-ID` if short and plain, else a fresh one (32 hex digits)."""
    if _VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode("ascii")
    return os.urandom(16).hex()


def response_headers(headers: list, request_id: str, personal: bool) -> list:
    """The response's headers with the request id and the safety headers added."""
    added = [*headers, (b"x-request-id", request_id.encode()), *SAFETY_HEADERS]
    if personal and not any(name.lower() == b"cache-control" for name, _ in headers):
        added.append(NO_STORE)  # public reads set their own
    return added


def log_crash(request_id: str, exc: Exception) -> None:
    """Log a crash with its traceback frames but without the exception message, which could
    carry personal data from the request or the database."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("request %s failed with %s\n%s", request_id, type(exc).__name__, frames)
