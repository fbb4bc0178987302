"""Response shapes shared by every domain."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Receipt(BaseModel):
    """What a write did: the record's id and the names (never values) of the fields written."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "3f0c6a5e-8a7c-4c1e-9a53-0d6f1f1b2c3d", "fields": ["name", "email", "phone"],
         "at": "2026-11-28T08:00:00Z"}]})

    id: str
    fields: list[str]
    at: datetime
