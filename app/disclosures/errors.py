"""Disclosure errors: DisclosureNotFound (404 `disclosure_not_found`)."""

from app.core.errors import NotFound


class DisclosureNotFound(NotFound):
    code = "disclosure_not_found"

    def __init__(self) -> None:
        super().__init__("No such legal disclosure.")
