"""Size limits on what a client may send, enforced on the raw ASGI stream before any parsing.

A declared `Content-Length` above the limit is refused at once; a chunked (or lying) body is
counted as it arrives and reading stops at the limit. Oversized headers get 431 and an oversized
`Authorization` header 401, before the token is looked at. A path or query holding a control
character (NUL included) is refused with 422 before any route sees it.
"""

import unicodedata
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException

from app.core.config import Settings
from app.core.errors import problem_response

BEARER_PREFIX = len("Bearer ")


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it was read (rendered as 413 `body_too_large`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies may be at most {limit} bytes.")


def body_too_large(limit: int):
    """The 413 problem response."""
    return problem_response(status=413, code="body_too_large", title="Content too large",
                            detail=f"Request bodies may be at most {limit} bytes.")


class RequestLimitsMiddleware:
    """Refuses oversized headers, tokens and bodies before the app does any work for them."""

    def __init__(self, app, *, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_headers = settings.max_header_bytes
        self.max_authorization = settings.max_token_bytes + BEARER_PREFIX

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope["headers"]) or _control_characters(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        started = False

        async def watched_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await body_too_large(self.max_body)(scope, receive, send)

    def _refusal(self, headers: list[tuple[bytes, bytes]]):
        """The problem response for headers that break a limit, or None."""
        if sum(len(name) + len(value) for name, value in headers) > self.max_headers:
            return problem_response(
                status=431, code="headers_too_large", title="Request headers too large",
                detail=f"Request headers may be at most {self.max_headers} bytes in all.")
        for name, value in headers:
            if name == b"authorization" and len(value) > self.max_authorization:
                return problem_response(
                    status=401, code="token_too_large", title="Unauthenticated",
                    detail=f"Bearer tokens may be at most "
                           f"{self.max_authorization - BEARER_PREFIX} bytes.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if name == b"content-length" and _declared_too_large(value, self.max_body):
                return body_too_large(self.max_body)
        return None


def _declared_too_large(value: bytes, limit: int) -> bool:
    """Whether a Content-Length header declares more than the limit (malformed ones are left to
    the server, which refuses them)."""
    return value.isdigit() and int(value) > limit


def _control_characters(scope):
    """A 422 problem response if the path or query holds a control character, else None."""
    query = unquote_plus(scope["query_string"].decode("latin-1"), errors="replace")
    for part, text in (("path", scope["path"]), ("query", query)):
        if any(unicodedata.category(c) == "Cc" for c in text):
            return problem_response(
                status=422, code="validation_failed", title="Unprocessable content",
                detail="The request does not match the schema; see `errors`.",
                errors=[{"loc": [part], "msg": "control characters are not allowed",
                         "type": "control_character"}])
    return None
