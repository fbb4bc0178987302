"""Request errors."""

from app.core.errors import Conflict, NotFound, Unprocessable


class RequestNotFound(NotFound):
    code = "request_not_found"

    def __init__(self) -> None:
        super().__init__("No such request, or not one you may see.")


class RequestNotOpen(Conflict):
    code = "request_not_open"


class ChangesRequired(Unprocessable):
    code = "changes_required"
