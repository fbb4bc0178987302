"""Request errors."""

import math
from datetime import timedelta

from app.core.errors import AppError, Conflict, NotFound, Unprocessable


class RequestNotFound(NotFound):
    code = "request_not_found"

    def __init__(self) -> None:
        super().__init__("No such request, or not one you may see.")


class RequestNotOpen(Conflict):
    code = "request_not_open"


class ChangesRequired(Unprocessable):
    code = "changes_required"


class VerificationLocked(AppError):
    """Too many wrong codes: checks and code mails wait (429 with Retry-After)."""

    status, code, title = 429, "verification_locked", "Verification locked"

    def __init__(self, detail: str, *, retry_after: timedelta, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after.total_seconds())))}


class LockoutNotFound(NotFound):
    code = "lockout_not_found"

    def __init__(self) -> None:
        super().__init__("No such lockout.")
