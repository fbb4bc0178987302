"""Errors and their RFC 9457 problem-details rendering.

Every error the API returns is `application/problem+json` with a machine `code`:

    AppError(code, status, detail)
    ├── auth: Unauthenticated (401 `unauthenticated`)
    ├── purposes: PurposeRequired (400), UnknownPurpose (400), PurposeNotPermitted (403),
    │   ConsentWithdrawn (403)
    ├── NotFound (404 `<resource>_not_found`), Gone (410), Conflict (409)
    ├── InvalidCursor (400 `invalid_cursor`; `cursor_order_mismatch` for a cursor of a list in
    │   another order), IdempotencyKeyReused (422), IdempotencyKeyInUse (409)
    └── domain errors in each domain's `errors.py`
    RequestValidationError -> 422 `validation_failed` (or `card_number_rejected`)
    unknown route -> 404 `not_found`; wrong method -> 405 `method_not_allowed`
    oversized body -> 413 `body_too_large`, headers -> 431, token -> 401 (`app.core.limits`)
    lost or unreachable database -> 503 `database_unavailable` with `Retry-After`
    over a rate limit -> 429 `rate_limited` with `Retry-After` (`app.core.ratelimit`)
    anything else -> 500 `internal_error` (see `app.core.middleware`)
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_TYPE_BASE = "https://privacy-api.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5
CARD_NUMBER_ERROR = "card_number_rejected"


class Problem(BaseModel):
    """RFC 9457 problem details, with a machine-readable `code`."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "purpose_required"])
    title: str = Field(examples=["Purpose required"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["Name the purpose of this read in the X-Purpose header."])
    code: str = Field(examples=["purpose_required"])
    errors: list[dict] | None = Field(
        None, description="Field errors of a 422 (location, message, type); never the input."
    )


class AppError(Exception):
    """Base of every error the service raises on purpose."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class Unauthenticated(AppError):
    status, code, title = 401, "unauthenticated", "Unauthenticated"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Gone(AppError):
    status, code, title = 410, "gone", "Gone"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(AppError):
    status, code, title = 422, "unprocessable", "Unprocessable content"


def problem_response(
    *, status: int, code: str, title: str, detail: str, errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render one problem-details response."""
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status,
            "detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)  # registered for AppError only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else exc.headers
    return problem_response(status=exc.status, code=exc.code, title=exc.title,
                            detail=exc.detail, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for it only
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    card = any(e["type"] == CARD_NUMBER_ERROR for e in errors)
    code = CARD_NUMBER_ERROR if card else "validation_failed"
    detail = ("A payment card number was sent; this service never stores card numbers."
              if card else "The request does not match the schema; see `errors`.")
    return problem_response(status=422, code=code, title="Unprocessable content",
                            detail=detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # registered for it only
    codes = {404: ("not_found", "Not found"), 405: ("method_not_allowed", "Method not allowed"),
             413: ("body_too_large", "Content too large")}
    code, title = codes.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # every method of the path, not only those of the first route
        headers = {**(headers or {}), "Allow": ", ".join(sorted(_allowed_methods(
            request.app.router.routes, request.scope)))}
    return problem_response(status=exc.status_code, code=code, title=title, detail=detail,
                            headers=headers)


def _allowed_methods(routes, scope) -> set[str]:
    """The methods of every route whose path matches, looking into included routers."""
    methods: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            methods |= _allowed_methods(inner.routes, scope)
        elif route.matches(scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods


def _lost_database(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached (not that a statement was wrong)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, PoolTimeout | OSError)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 for a lost or unreachable database; any other database error stays a 500."""
    if not _lost_database(exc):
        raise exc
    return problem_response(
        status=503, code="database_unavailable", title="Service unavailable",
        detail="The database cannot be reached right now; nothing was saved. Try again.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def problem_schema() -> dict:
    """JSON schema of `Problem`, for the OpenAPI components."""
    return Problem.model_json_schema(ref_template="#/components/schemas/{model}")


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem details."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in (DBAPIError, PoolTimeout, OSError):  # OSError: drivers' refused connections
        app.add_exception_handler(error, _database_error)


PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
_NOT_FOUND = "Not found"
PROBLEM_EXAMPLES: dict[int, tuple[str, list[tuple[str, str, str]]]] = {
    400: ("Bad request", [
        ("purpose_required", "Purpose required",
         "Name the purpose of this read in the X-Purpose header."),
        ("unknown_purpose", "Unknown purpose", "'marketing' is not a purpose of this service."),
        ("invalid_cursor", "Invalid cursor", "The cursor is not one this service issued."),
        ("cursor_order_mismatch", "Cursor of another ordering",
         "The cursor comes from a list in another order; this one is ordered by due_at. "
         "Start again without a cursor."),
    ]),
    401: ("Missing or invalid token", [
        ("unauthenticated", "Unauthenticated", "Send `Authorization: Bearer <token>`."),
        ("token_too_large", "Token too large", "The bearer token is longer than 8192 bytes."),
    ]),
    403: ("Purpose or role not permitted", [
        ("purpose_not_permitted", "Purpose not permitted",
         "Role support_agent may not read for fraud; its purposes: service."),
        ("consent_withdrawn", "Consent withdrawn",
         "The customer withdrew consent to notifications."),
        ("role_not_permitted", "Role not permitted", "Role customer may not do this."),
    ]),
    404: ("Not found, or not yours to see", [
        ("customer_not_found", _NOT_FOUND, "No such customer."),
        ("not_found", _NOT_FOUND, "No such resource."),
    ]),
    409: ("Conflict with the current state", [
        ("conflict", "Conflict", "The resource changed meanwhile."),
        ("idempotency_key_in_use", "Idempotency key in use",
         "A request with this Idempotency-Key is still running."),
    ]),
    410: ("Gone", [
        ("shipment_delivered", "Shipment delivered",
         "The shipment was delivered; its data is no longer shared with the carrier."),
    ]),
    422: ("Invalid payload", [
        ("validation_failed", "Unprocessable content",
         "The request does not match the schema; see `errors`."),
        ("card_number_rejected", "Unprocessable content",
         "A payment card number was sent; this service never stores card numbers."),
        ("idempotency_key_reused", "Idempotency key reused",
         "This Idempotency-Key was used with another body."),
    ]),
    429: ("Too many requests; wait `Retry-After` seconds", [
        ("rate_limited", "Rate limited",
         "Too many reads; try again in 12 seconds (see `Retry-After` and `RateLimit`)."),
        ("verification_locked", "Verification locked",
         "Too many wrong codes for this customer; try again in 300 seconds."),
        ("verification_code_recently_sent", "Verification locked",
         "A code was mailed to this customer moments ago; use it, or file again later."),
    ]),
    503: ("Unavailable; wait `Retry-After` seconds", [
        ("database_unavailable", "Database unavailable",
         "The database cannot be reached right now; nothing was saved. Try again shortly."),
        ("database_unreachable", "Not ready", "The database does not answer."),
        ("schema_not_current", "Not ready",
         "The database schema is not at the newest migration; run `privacy-api migrate`."),
    ]),

}


def problem_doc(description: str, *, retry_after: bool = False) -> dict:
    """OpenAPI entry of one more problem status a route answers; `document_problems` adds
    its problem+json body and an example per code."""
    doc: dict = {"description": description}
    if retry_after:
        doc["headers"] = {"Retry-After": {"description": "Seconds to wait.",
                                          "schema": {"type": "integer"}}}
    return doc


def problem_content(status: int) -> dict:
    """The problem+json media type of one status, referring to an example per code it carries."""
    _, cases = PROBLEM_EXAMPLES[status]
    examples = {code: {"$ref": f"#/components/examples/{code}"} for code, _, _ in cases}
    return {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA_REF, "examples": examples}}


def _examples() -> dict:
    return {
        code: {"summary": f"`{code}`", "value": {
            "type": PROBLEM_TYPE_BASE + code, "title": title, "status": status,
            "detail": detail, "code": code}}
        for status, (_, cases) in PROBLEM_EXAMPLES.items() for code, title, detail in cases
    }


def _codes(status: int) -> str:
    return ", ".join(f"`{code}`" for code, _, _ in PROBLEM_EXAMPLES[status][1])


def _description(status: int) -> str:
    return f"{PROBLEM_EXAMPLES[status][0]}: {_codes(status)}"


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"content": problem_content(status), "description": _description(status)}
    for status in (400, 401, 403, 404, 422, 429, 503)
}


def document_problems(openapi: dict) -> None:
    """Add the problem examples to the components, and the problem+json body and examples to
    every documented error response without a body."""
    openapi.setdefault("components", {})["examples"] = _examples()
    for operations in openapi.get("paths", {}).values():
        for method, operation in operations.items():
            if method != "get":  # any write may meet a state change or an Idempotency-Key in use
                conflict = {"description": PROBLEM_EXAMPLES[409][0]}
                operation["responses"].setdefault("409", conflict)
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) in PROBLEM_EXAMPLES and (
                        "content" not in response):
                    response["content"] = problem_content(int(status))
                    response["description"] += f": {_codes(int(status))}"
