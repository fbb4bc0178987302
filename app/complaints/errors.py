"""Complaint errors."""

from app.core.errors import Conflict, NotFound


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"

    def __init__(self) -> None:
        super().__init__("No such complaint, or not one you may see.")


class AlreadyAnswered(Conflict):
    code = "complaint_already_answered"

    def __init__(self) -> None:
        super().__init__("This complaint was answered already.")
