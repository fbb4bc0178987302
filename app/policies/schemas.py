"""Policy payloads and views."""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.access.projection import GatedView
from app.core.fields import DocumentText, FreeLine, FreeText
from app.policies.models import AcceptanceKind

_EFFECTIVE = "2026-12-10T00:00:00Z"


class PolicyVersionCreate(BaseModel):
    """A new policy version; it takes effect at least 7 days after it is published."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "label": "December 2026: payment partners", "text": "# Privacy Policy\n\n...",
        "summary": "We now share the order number and amount with Klarna for instalments.",
        "significant": True, "effective_at": _EFFECTIVE}]})

    label: FreeLine = Field(max_length=100)
    text: DocumentText = Field(description="The full text, Markdown.")
    summary: FreeText = Field(max_length=2000, description="What changes, for people.")
    significant: bool = Field(description="Changes the scope of collection or sharing rules: "
                                          "every customer is notified by email or SMS.")
    effective_at: AwareDatetime


class PolicyVersionSummary(BaseModel):
    """A version without its text, as listed in the history."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    label: str
    summary: str
    significant: bool
    published_at: datetime
    effective_at: datetime
    withdrawn_at: datetime | None


class PolicyVersionRead(PolicyVersionSummary):
    """A version with its full text (Markdown)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "version": 2, "label": "December 2026: payment partners", "text": "# Privacy Policy",
        "summary": "We now share the order number and amount with Klarna for instalments.",
        "significant": True, "published_at": "2026-11-28T08:00:00Z",
        "effective_at": _EFFECTIVE, "withdrawn_at": None}]})

    text: str


class PolicyHistory(BaseModel):
    """One page of the history, newest first; pass `next_cursor` back as `cursor`."""

    items: list[PolicyVersionSummary]
    next_cursor: str | None = Field(None, description="Null on the last page.")


class NoticeProgress(BaseModel):
    """How far the change notices of a version have got: counts only, never who."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "version": 2, "significant": True, "complete": False, "completed_at": None,
        "queued": 1200, "email": 1100, "sms": 100, "sent": 900, "pending": 290, "failed": 10,
        "dropped": 0, "remaining": 98800}]})

    version: int
    significant: bool
    complete: bool = Field(description="Every customer with a contact has been queued.")
    completed_at: datetime | None
    queued: int = Field(description="Notices put into the outbox so far.")
    email: int
    sms: int
    sent: int
    pending: int = Field(description="Queued, not yet sent (scheduled at the notice rate).")
    failed: int = Field(description="Given up after the outbox's maximum attempts.")
    dropped: int = Field(description="Unsent when the customer was deleted or the version "
                                     "withdrawn.")
    remaining: int = Field(description="Customers with a contact not yet queued.")


class AcceptanceCreate(BaseModel):
    """That the customer saw or accepted a version."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"version": 2, "kind": "accepted"}]})

    version: int = Field(ge=1, le=2_147_483_647)
    kind: AcceptanceKind


class AcceptanceRead(BaseModel):
    """A recorded acceptance (the first one of its kind counts)."""

    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    version: int
    kind: AcceptanceKind
    recorded_at: datetime


class PolicyRecordView(GatedView):
    """A policy version the customer was notified of (`notified`), or saw or accepted."""

    version: int | None = None
    label: str | None = None
    event: str | None = None
    channel: str | None = None
    at: datetime | None = None
    state: str | None = None
