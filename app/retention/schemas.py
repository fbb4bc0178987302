"""Legal hold payloads and views."""

from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.access.projection import GatedView
from app.core.fields import FreeLine, Identifier, OrderNumber

_ID = "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d"


class HoldCreate(BaseModel):
    """A hold on all of a customer's data, or on one order; exactly one of the two."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"order_number": "HG-2026-000042", "reason": "Tax audit of 2026 sales",
         "reference": "TA-2026-117", "until": "2027-06-30T00:00:00Z"}]})

    customer_id: Identifier | None = None
    order_number: OrderNumber | None = None
    reason: FreeLine = Field(description="Why the data must be kept; the customer is told "
                                         "it when a deletion meets the hold.")
    reference: FreeLine = Field(description="Case, audit or court reference.")
    until: AwareDatetime | None = Field(None, description="End of the hold; open-ended if "
                                                          "missing (lift it explicitly).")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.customer_id is None) == (self.order_number is None):
            raise ValueError("give exactly one of customer_id and order_number")
        return self


class HoldView(GatedView):
    """A legal hold, as the purpose allows."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "customer_id": _ID,
         "order_number": "HG-2026-000042", "reason": "Tax audit of 2026 sales",
         "reference": "TA-2026-117", "until": "2027-06-30T00:00:00Z",
         "placed_at": "2026-11-28T08:00:00Z", "placed_by": "officer-1", "lifted_at": None,
         "lifted_by": None, "active": True}]})

    id: str | None = None
    customer_id: str | None = None
    order_number: str | None = None
    reason: str | None = None
    reference: str | None = None
    until: datetime | None = None
    placed_at: datetime | None = None
    placed_by: str | None = None
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    active: bool | None = None
