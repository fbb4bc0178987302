"""Errors of the read gate: why a read is refused."""

from app.core.errors import AppError, Forbidden, Gone


class PurposeRequired(AppError):
    status, code, title = 400, "purpose_required", "Purpose required"


class UnknownPurpose(AppError):
    status, code, title = 400, "unknown_purpose", "Unknown purpose"


class PurposeNotPermitted(Forbidden):
    code, title = "purpose_not_permitted", "Purpose not permitted"


class RoleNotPermitted(Forbidden):
    code, title = "role_not_permitted", "Role not permitted"


class ConsentWithdrawn(Forbidden):
    code, title = "consent_withdrawn", "Consent withdrawn"


class ShipmentDelivered(Gone):
    code, title = "shipment_delivered", "Shipment delivered"
