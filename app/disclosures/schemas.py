"""Disclosure payloads and views."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.access.projection import GatedView
from app.core.fields import FreeLine, Identifier, PlainText, ShortCode
from app.core.schemas import Receipt

_CREATE: dict[str, JsonValue] = {
    "customer_id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d",
    "authority": "Shenzhen Public Security Bureau",
    "legal_basis": "Criminal Procedure Law art. 54", "reference": "SZ-PSB-2026-7781",
    "fields": ["name", "phone", "orders"], "disclosed_at": "2026-11-27T03:00:00Z",
    "notify_after": "2027-02-01"}


class DisclosureCreate(BaseModel):
    """A disclosure to an authority; `notify_after` null tells the customer at once."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE]})

    customer_id: Identifier
    authority: PlainText = Field(min_length=2)
    legal_basis: FreeLine = Field(min_length=2)
    reference: ShortCode = Field(max_length=100)
    fields: list[ShortCode] = Field(min_length=1, max_length=50,
                              description="Names of the data categories or fields disclosed.")
    disclosed_at: datetime | None = Field(None, description="Defaults to now.")
    notify_after: date | None = Field(
        None, description="A legal bar forbids telling the customer before this date; null "
                          "tells them at once.")


class DisclosureReceipt(Receipt):
    """What recording a disclosure did, and whether the customer was told yet."""

    notified: bool


class DisclosureView(GatedView):
    """A legal disclosure as the purpose allows."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b1f0e2a-9c3d-4e7f-8a6b-1c2d3e4f5a6b", **_CREATE, "notified_at": None,
        "recorded_by": "dpo"}]})

    id: str | None = None
    customer_id: str | None = None
    authority: str | None = None
    legal_basis: str | None = None
    reference: str | None = None
    fields: list[str] | None = None
    disclosed_at: datetime | None = None
    notify_after: date | None = None
    notified_at: datetime | None = None
    recorded_by: str | None = None
