"""Partner errors.

    PartnerNotFound (404 `partner_not_found`), PartnerExists (409 `partner_exists`),
    PartnerNotActive (403 `partner_not_active`: a token of an unregistered, suspended or
    out-of-agreement partner), PartnerNotUsable (422 `partner_not_active` /
    `partner_kind_mismatch`: an order names a partner it may not), NoticeNotFound (404)
"""

from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable


class PartnerNotFound(NotFound):
    code = "partner_not_found"

    def __init__(self) -> None:
        super().__init__("No partner with this id is registered.")


class PartnerExists(Conflict):
    code = "partner_exists"

    def __init__(self) -> None:
        super().__init__("A partner with this id is already registered.")


class PartnerNotActive(Forbidden):
    code = "partner_not_active"

    def __init__(self) -> None:
        super().__init__("The partner of this token is not registered, suspended, or outside "
                         "its agreement's dates.")


class PartnerNotUsable(Unprocessable):
    code = "partner_not_active"


class NoticeNotFound(NotFound):
    code = "notice_not_found"

    def __init__(self) -> None:
        super().__init__("No such notice to your organisation.")
