"""Projected personal data: a type only the gate creates, and the views that accept only it."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic_core import to_json
from starlette.responses import Response

from app.core.crypto import Keys

FieldReader = Callable[[Any, Keys], Any]
"""Computes one field's value from a row (decrypting where needed)."""


class Projection:
    """Exactly the fields a purpose allowed of one record, and nothing else."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any], *, made_by: object) -> None:
        if made_by is not GATE_TOKEN:
            raise TypeError("only app.access.gate projects personal data")
        self.values = values


GATE_TOKEN = object()
"""Held by `app.access.gate` alone (an architecture test checks that nobody else uses it)."""


class GatedView(BaseModel):
    """A response model of personal data: it can be built from a gate `Projection` only."""

    @model_validator(mode="before")
    @classmethod
    def _from_gate(cls, data: Any) -> Any:
        if isinstance(data, Projection):
            return data.values
        raise ValueError(f"{cls.__name__} holds personal data and is built by the read gate only")


class GatedJSON(Response):
    """Projected personal data as JSON bytes made straight from gate projections (one record,
    or a page of them): the content its `GatedView` renders, fields the purpose did not allow
    absent, without a second validation and serialization pass. Routes keep the view as their
    `response_model`, which documents the response."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, Projection):
            return to_json(content.values)
        items = content.get("items") if isinstance(content, dict) else None
        if isinstance(items, list) and all(isinstance(item, Projection) for item in items):
            return to_json({**content, "items": [item.values for item in items]})
        raise TypeError("GatedJSON renders projections of the read gate only")
