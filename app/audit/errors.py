"""Audit errors."""

from app.core.errors import NotFound


class AccessLogEntryNotFound(NotFound):
    code = "access_log_entry_not_found"

    def __init__(self) -> None:
        super().__init__("No such access log entry.")
