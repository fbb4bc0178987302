"""Complaint payloads and views."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.access.projection import GatedView
from app.complaints.models import ComplaintKind
from app.core.fields import FreeLine, FreeText, Identifier

_ID = "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d"


class ComplaintCreate(BaseModel):
    """A complaint or inquiry from a customer; card numbers in the text are masked."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"customer_id": _ID, "kind": "complaint", "subject": "Who read my address?",
         "body": "I think my address was shared with someone it should not have been."}]})

    customer_id: Identifier
    kind: ComplaintKind = ComplaintKind.INQUIRY
    subject: FreeLine | None = None
    body: FreeText


class ComplaintAnswer(BaseModel):
    """Staff's answer, kept with the complaint and sent to the customer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"answer": "Only our carrier saw your address, for delivery, until it arrived."}]})

    answer: FreeText


class ComplaintStatus(GatedView):
    """A complaint without its text: when it came and when it is due."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "customer_id": _ID, "kind": "complaint",
         "received_at": "2026-11-28T08:00:00Z", "due_at": "2026-12-03T01:00:00Z",
         "answered_at": None, "overdue": False}]})

    id: str | None = None
    customer_id: str | None = None
    kind: ComplaintKind | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    overdue: bool | None = None


class ComplaintView(GatedView):
    """A complaint with its text, as the purpose allows."""

    id: str | None = None
    customer_id: str | None = None
    kind: ComplaintKind | None = None
    subject: str | None = None
    body: str | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    overdue: bool | None = None
