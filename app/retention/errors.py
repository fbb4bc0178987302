"""Legal hold errors.

AppError
 +-- NotFound: HoldNotFound (`hold_not_found`), HoldTargetNotFound (`hold_target_not_found`)
 +-- Conflict: HoldLifted (`hold_already_lifted`)
"""

from app.core.errors import Conflict, NotFound


class HoldNotFound(NotFound):
    code = "hold_not_found"

    def __init__(self) -> None:
        super().__init__("No such legal hold.")


class HoldTargetNotFound(NotFound):
    code = "hold_target_not_found"

    def __init__(self) -> None:
        super().__init__("No such customer or order to hold.")


class HoldLifted(Conflict):
    code = "hold_already_lifted"

    def __init__(self) -> None:
        super().__init__("This legal hold was lifted already.")
