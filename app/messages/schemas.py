"""Communication record payloads and views."""

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.access.projection import GatedView
from app.core.fields import FreeLine, FreeText, OrderNumber
from app.messages.models import Channel, Direction

_EXAMPLE: dict[str, Any] = {
            "channel": "email", "direction": "inbound", "order_number": "HG-2026-000123",
            "subject": "Where is my plush cat bed?",
            "body": "Hello, my order shipped a week ago; when will it arrive?",
            "occurred_at": "2026-11-28T08:00:00Z"}


class MessageCreate(BaseModel):
    """A message to or from customer service. Card numbers in the text are masked."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    channel: Channel = Channel.EMAIL
    direction: Direction
    order_number: OrderNumber | None = None
    subject: FreeLine | None = None
    body: FreeText
    occurred_at: AwareDatetime | None = Field(None, description="Defaults to now.")


class MessageView(GatedView):
    """A message as the declared purpose allows."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
         "customer_id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d", **_EXAMPLE,
         "created_at": "2026-11-28T08:00:01Z"}]})

    id: str | None = None
    customer_id: str | None = None
    order_number: str | None = None
    channel: Channel | None = None
    direction: Direction | None = None
    subject: str | None = None
    body: str | None = None
    occurred_at: datetime | None = None
    created_at: datetime | None = None
