"""Order errors."""

from app.core.errors import Conflict, NotFound, Unprocessable


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self) -> None:
        super().__init__("No such order, or not one you may see.")


class OrderNumberTaken(Conflict):
    code = "order_number_taken"

    def __init__(self) -> None:
        super().__init__("An order with this number already exists.")


class InvalidTransition(Conflict):
    code = "invalid_status_transition"


class EventBeforePrevious(Unprocessable):
    code = "event_before_previous_step"


class DestructionConfirmed(Conflict):
    code = "destruction_already_confirmed"
