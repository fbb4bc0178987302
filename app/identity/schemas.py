"""Identity payloads and views."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.access.projection import GatedView
from app.core.fields import Email, Phone, PlainText

_EXAMPLE: dict[str, Any] = {"name": "Mei Lin", "email": "mei.lin@example.com",
                            "phone": "+8613800138000"}


class CustomerCreate(BaseModel):
    """A new customer, as the storefront collects it at checkout."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    name: PlainText
    email: Email
    phone: Phone | None = None


class CustomerUpdate(BaseModel):
    """A correction of a customer's identity; send only what changes."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"phone": "+8613900139000"}]})

    name: PlainText | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "CustomerUpdate":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be removed")
        if "email" in self.model_fields_set and self.email is None:
            raise ValueError("email cannot be removed")
        return self


class CustomerLookup(BaseModel):
    """Find a customer by email (sent in the body, so it never lands in URL logs)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"email": "mei.lin@example.com"}]})

    email: Email


class CustomerView(GatedView):
    """A customer as the declared purpose allows: absent fields were not allowed."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d", **_EXAMPLE,
         "created_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z"},
        {"customer_key": "9b1f0e2c4d6a8b0c1e3f5a7b9c0d2e4f", "created_at": "2026-11-28T08:00:00Z"},
    ]})

    id: str | None = None
    customer_key: str | None = Field(None, description="Pseudonymous key (fraud purpose).")
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
