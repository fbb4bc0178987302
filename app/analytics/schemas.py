"""Aggregate rows: figures about groups of orders, never about one person."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class OrderGroup(BaseModel):
    """One group of at least k customers' orders; only the dimensions asked for are set."""

    week: date | None = Field(None, description="Monday of the week the orders were placed.")
    country: str | None = None
    state: str | None = None
    city: str | None = None
    payment_method: str | None = None
    currency: str
    orders: int
    total_amount: Decimal
    average_delivery_days: float | None = Field(
        None, description="Placed to delivered, over the delivered orders of the group.")
    complaints: int = Field(description="Orders whose customer filed a complaint or inquiry "
                                        "after placing them.")


class OrderAggregates(BaseModel):
    """Orders grouped as asked; groups of fewer than `min_group` customers are left out."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"group_by": ["week", "country"], "min_group": 10, "groups": [
            {"week": "2026-11-23", "country": "CN", "currency": "EUR", "orders": 42,
             "total_amount": "1234.50", "average_delivery_days": 13.4, "complaints": 3}]}]})

    group_by: list[str]
    min_group: int
    groups: list[OrderGroup]
