"""Size limits on what a client may send, checked on the raw ASGI request before any parsing.

A declared `Content-Length` above the limit is refused at once; a chunked (or lying) body is
counted as it arrives and reading stops at the limit. Oversized headers get 431 and an oversized
`Authorization` header 401, before the token is looked at. A path or query holding a control
character (NUL included) is refused with 422 before any route sees it. The request pipeline
(`app.core.pipeline`) reads the headers once and asks these checks.
"""

import re
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException

from app.core.config import Settings
from app.core.errors import problem_response

BEARER_PREFIX = len("Bearer ")
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode's category Cc, exactly."""


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it was read (rendered as 413 `body_too_large`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies may be at most {limit} bytes.")


class RequestLimits:
    """The configured limits on headers, tokens and bodies."""

    def __init__(self, settings: Settings) -> None:
        self.max_body = settings.max_body_bytes
        self.max_headers = settings.max_header_bytes
        self.max_authorization = settings.max_token_bytes + BEARER_PREFIX

    def header_refusal(self, name: bytes, value: bytes):
        """The problem response for one header over its limit, or None."""
        if name == b"authorization" and len(value) > self.max_authorization:
            return problem_response(
                status=401, code="token_too_large", title="Unauthenticated",
                detail=f"Bearer tokens may be at most "
                       f"{self.max_authorization - BEARER_PREFIX} bytes.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
            return self.body_too_large()  # malformed lengths are left to the server
        return None

    def headers_refusal(self, size: int):
        """The 431 problem response if the headers add up to more than the limit, else None."""
        if size <= self.max_headers:
            return None
        return problem_response(
            status=431, code="headers_too_large", title="Request headers too large",
            detail=f"Request headers may be at most {self.max_headers} bytes in all.")

    def body_too_large(self):
        """The 413 problem response."""
        return problem_response(status=413, code="body_too_large", title="Content too large",
                                detail=f"Request bodies may be at most {self.max_body} bytes.")

    def counted(self, receive):
        """`receive`, raising `BodyTooLarge` once the body's bytes pass the limit."""
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        return counted_receive


def control_characters(scope):
    """A 422 problem response if the path or query holds a control character, else None."""
    query = scope["query_string"].decode("latin-1")
    if "%" in query:
        query = unquote_plus(query, errors="replace")
    for part, text in (("path", scope["path"]), ("query", query)):
        if _CONTROL_CHARACTER.search(text):
            return problem_response(
                status=422, code="validation_failed", title="Unprocessable content",
                detail="The request does not match the schema; see `errors`.",
                errors=[{"loc": [part], "msg": "control characters are not allowed",
                         "type": "control_character"}])
    return None
