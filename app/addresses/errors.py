"""Address errors."""

from app.core.errors import NotFound


class AddressNotFound(NotFound):
    code = "address_not_found"

    def __init__(self) -> None:
        super().__init__("No such address for this customer, or not one you may see.")
