"""Identity errors."""

from app.core.errors import Conflict, NotFound


class CustomerNotFound(NotFound):
    code = "customer_not_found"

    def __init__(self) -> None:
        super().__init__("No such customer, or not one you may see.")


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("A customer with this email already exists; look it up instead.")
