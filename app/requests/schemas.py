"""Request payloads and views; views hold no personal values."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.access.projection import GatedView
from app.addresses.public import AddressView
from app.audit.public import AccessLogEntry
from app.complaints.public import ComplaintView
from app.consents.public import ConsentState
from app.core.fields import Identifier, ShortCode, StaffText
from app.disclosures.public import DisclosureView
from app.identity.public import CustomerUpdate, CustomerView
from app.messages.public import MessageView
from app.orders.public import OrderView
from app.policies.public import PolicyRecordView
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


class RequestView(GatedView):
    """Where a request stands, and when it is due."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "customer_id": _ID, "type": "access",
        "state": "completed", "received_at": "2026-11-27T10:30:00Z",
        "verified_at": "2026-11-27T10:35:00Z", "verified_by": "code",
        "due_at": "2026-12-01T02:00:00Z", "completed_at": "2026-11-27T10:35:00Z",
        "rejected_at": None, "rejection_reason": None, "overdue": False,
        "outcome": {"export": "/v1/requests/9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d/export"}}]})

    id: str | None = None
    customer_id: str | None = None
    type: RequestType | None = None
    state: RequestState | None = None
    received_at: datetime | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    overdue: bool | None = None
    outcome: dict[str, Any] | None = None


class LockoutView(GatedView):
    """A customer or caller locked out after too many wrong verification codes."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", "scope": "customer", "customer_id": _ID,
        "actor_role": None, "actor_id": None, "lockouts": 2,
        "locked_at": "2026-11-27T10:40:00Z", "locked_until": "2026-11-27T10:50:00Z",
        "locked": True}]})

    id: str | None = None
    scope: str | None = Field(None, description="`customer` or `actor` (the caller).")
    customer_id: str | None = None
    actor_role: str | None = None
    actor_id: str | None = None
    lockouts: int | None = Field(None, description="Lockouts since the last quiet window.")
    locked_at: datetime | None = None
    locked_until: datetime | None = None
    locked: bool | None = None


class RetentionNote(BaseModel):
    """How long one category of data is kept, and why."""

    category: str
    kept: str
    why: str


class AccessExport(BaseModel):
    """Everything held about a customer, as the purpose allows; sections the purpose does
    not cover are left out."""

    identity: CustomerView | None = None
    addresses: list[AddressView] | None = None
    orders: list[OrderView] | None = None
    messages: list[MessageView] | None = None
    complaints: list[ComplaintView] | None = None
    consents: list[ConsentState] | None = None
    access_log: list[AccessLogEntry] | None = None
    disclosures: list[DisclosureView] | None = Field(
        None, description="Legal disclosures to authorities you were told of.")
    policies: list[PolicyRecordView] | None = Field(
        None, description="Policy versions you were notified of, and those you saw or accepted.")
    retention: list[RetentionNote]
