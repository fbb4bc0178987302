"""Message errors."""

from app.core.errors import NotFound


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("No such message, or not one you may see.")
