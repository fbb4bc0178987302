"""Shipping address payloads and views."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from app.access.projection import GatedView
from app.core.fields import Country, Phone, PlainText, ShortCode

_EXAMPLE: dict[str, Any] = {"recipient_name": "Mei Lin", "phone": "+8613800138000", "country": "CN",
            "state": "Guangdong", "city": "Shenzhen", "street": "Keyuan Road",
            "house_number": "18", "postal_code": "518057"}


class AddressCreate(BaseModel):
    """A shipping address: state, city, street and house number, as the policy lists."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    recipient_name: PlainText
    phone: Phone | None = None
    country: Country
    state: PlainText | None = None
    city: PlainText
    street: PlainText
    house_number: ShortCode
    postal_code: ShortCode | None = None


class AddressUpdate(BaseModel):
    """A change to an address; send only what changes."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"house_number": "20"}]})

    recipient_name: PlainText | None = None
    phone: Phone | None = None
    country: Country | None = None
    state: PlainText | None = None
    city: PlainText | None = None
    street: PlainText | None = None
    house_number: ShortCode | None = None
    postal_code: ShortCode | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "AddressUpdate":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        required = {"recipient_name", "country", "city", "street", "house_number"}
        cleared = [f for f in required & self.model_fields_set if getattr(self, f) is None]
        if cleared:
            raise ValueError(f"cannot remove required fields: {', '.join(sorted(cleared))}")
        return self


class AddressView(GatedView):
    """An address as the declared purpose allows: absent fields were not allowed."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "7d1e0b52-3c4f-4a8e-b2a9-5e6f7a8b9c0d",
         "customer_id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d", **_EXAMPLE,
         "created_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z"}]})

    id: str | None = None
    customer_id: str | None = None
    recipient_name: str | None = None
    phone: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
