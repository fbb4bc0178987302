"""Partner payloads and views; a partner is an organisation, so nothing here is personal."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, JsonValue, model_validator

from app.core.fields import PlainText, ShortCode
from app.partners.models import PartnerKind

PartnerIdField = Annotated[ShortCode, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$",
                                      description="The `partner_id` claim of its tokens.")]

_CREATE: dict[str, JsonValue] = {
    "id": "swiftship", "kind": "logistics", "display_name": "SwiftShip Logistics Ltd.",
    "agreement_reference": "DPA-2026-014", "agreement_starts_on": "2026-01-01",
    "agreement_ends_on": "2027-12-31", "webhook_url": "https://hooks.swiftship.example/privacy"}


class PartnerCreate(BaseModel):
    """A partner under a signed data-sharing agreement."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE]})

    id: PartnerIdField
    kind: PartnerKind
    display_name: PlainText
    agreement_reference: ShortCode = Field(max_length=100)
    agreement_starts_on: date
    agreement_ends_on: date
    webhook_url: AnyHttpUrl = Field(description="Where signed notices are POSTed.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> "PartnerCreate":
        if self.agreement_ends_on < self.agreement_starts_on:
            raise ValueError("the agreement must end on or after its start")
        return self


class PartnerView(BaseModel):
    """A registered partner; the signing secret is never shown again after it is issued."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        **_CREATE, "active": True, "suspended_at": None, "previous_secret_until": None,
        "created_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z"}]})

    id: str
    kind: PartnerKind
    display_name: str
    agreement_reference: str
    agreement_starts_on: date
    agreement_ends_on: date
    webhook_url: str
    active: bool
    suspended_at: datetime | None
    previous_secret_until: datetime | None = Field(
        description="Until then, notices are also signed with the previous secret.")
    created_at: datetime
    updated_at: datetime


class PartnerSecret(PartnerView):
    """A partner with its new signing secret: shown once, store it now."""

    signing_secret: str = Field(description="HMAC-SHA256 key of `X-Privacy-Signature`; "
                                            "shown only in this response.")


class Destruction(BaseModel):
    """A request to a carrier to destroy its copy of a shipment's data (no personal values)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    partner_id: str
    order_number: str | None
    requested_at: datetime
    sent_at: datetime | None
    attempts: int
    confirmed_at: datetime | None


class NoticeConfirmation(BaseModel):
    """A partner's word that it acted on a notice."""

    id: str
    event: str
    confirmed_at: datetime
