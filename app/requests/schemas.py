"""Request payloads and views; views hold no personal values."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.fields import Identifier, ShortCode, StaffText
from app.identity.schemas import CustomerUpdate
from app.policy.purposes import CONSENT_PURPOSES
from app.requests.models import RequestState, RequestType

_ID = "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d"


class RequestCreate(BaseModel):
    """A customer exercising a right; `changes` for corrections, `purposes` for withdrawals."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"customer_id": _ID, "type": "access"},
        {"customer_id": _ID, "type": "correction", "changes": {"phone": "+8613900139000"}},
        {"customer_id": _ID, "type": "consent_withdrawal", "purposes": ["notifications"]}]})

    customer_id: Identifier
    type: RequestType
    changes: CustomerUpdate | None = Field(
        None, description="Correction only; without it, staff apply the correction later.")
    purposes: list[ShortCode] | None = Field(
        None, description="Consent withdrawal only; default: every consent-based purpose.")

    @model_validator(mode="after")
    def _fits_type(self) -> "RequestCreate":
        if self.changes is not None and self.type is not RequestType.CORRECTION:
            raise ValueError("changes belong to correction requests only")
        if self.purposes is not None:
            if self.type is not RequestType.CONSENT_WITHDRAWAL:
                raise ValueError("purposes belong to consent withdrawal requests only")
            unknown = set(self.purposes) - {p.value for p in CONSENT_PURPOSES}
            if unknown or not self.purposes:
                raise ValueError("purposes must name consent-based purposes: "
                                 + ", ".join(sorted(p.value for p in CONSENT_PURPOSES)))
        return self


class VerificationCode(BaseModel):
    """The one-time code sent to the contact on file."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "482913"}]})

    code: str = Field(pattern=r"^[0-9]{6}$")


class Rejection(BaseModel):
    """Why a request is rejected."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "The request was filed twice by mistake."}]})

    reason: StaffText


class RequestView(BaseModel):
    """Where a request stands, and when it is due."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "customer_id": _ID, "type": "access",
        "state": "completed", "received_at": "2026-11-27T10:30:00Z",
        "verified_at": "2026-11-27T10:35:00Z", "verified_by": "code",
        "due_at": "2026-12-01T02:00:00Z", "completed_at": "2026-11-27T10:35:00Z",
        "rejected_at": None, "rejection_reason": None, "overdue": False,
        "outcome": {"export": "/v1/requests/9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d/export"}}]})

    id: str
    customer_id: str
    type: RequestType
    state: RequestState
    received_at: datetime
    verified_at: datetime | None
    verified_by: str | None
    due_at: datetime | None
    completed_at: datetime | None
    rejected_at: datetime | None
    rejection_reason: str | None
    overdue: bool
    outcome: dict | None
