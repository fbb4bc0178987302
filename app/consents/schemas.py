"""Consent payloads and views."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictBool

from app.access.projection import GatedView


class ConsentChange(BaseModel):
    """Grant or withdraw consent to one consent-based purpose."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"granted": False}]})

    granted: StrictBool


class ConsentEventView(BaseModel):
    """One grant or withdrawal."""

    granted: bool
    changed_at: datetime
    changed_by_role: str
    policy_version: int | None = None


class ConsentState(GatedView):
    """Where consent to one purpose stands, and how it got there."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "purpose": "notifications", "granted": False, "changed_at": "2026-11-28T08:00:00Z",
        "history": [{"granted": False, "changed_at": "2026-11-28T08:00:00Z",
                     "changed_by_role": "customer", "policy_version": 1}]}]})

    purpose: str | None = None
    granted: bool | None = None
    changed_at: datetime | None = None
    history: list[ConsentEventView] | None = None
