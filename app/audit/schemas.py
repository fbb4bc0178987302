"""Access log views."""

from datetime import datetime

from pydantic import ConfigDict

from app.access.projection import GatedView


class AccessLogEntry(GatedView):
    """Who read or changed the customer's data, when, and for which purpose."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"occurred_at": "2026-11-28T08:00:00Z", "actor_id": "agent-7",
         "actor_role": "support_agent", "purpose": "service", "action": "read",
         "resource": "customer", "fields": ["id", "name", "email", "phone"]}]})

    occurred_at: datetime | None = None
    actor_id: str | None = None
    actor_role: str | None = None
    purpose: str | None = None
    action: str | None = None
    resource: str | None = None
    fields: list[str] | None = None


class AuditEntryView(GatedView):
    """One entry of the trail as the privacy officer sees it: never a personal value."""

    id: str | None = None
    occurred_at: datetime | None = None
    actor_id: str | None = None
    actor_role: str | None = None
    purpose: str | None = None
    action: str | None = None
    subject_id: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    fields: list[str] | None = None
    request_id: str | None = None
    seq: int | None = None
