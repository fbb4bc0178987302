"""The aggregate query: SQL GROUP BY over orders, HAVING at least k distinct customers.

Analytics reads order and complaint tables from `app.models` for one aggregate statement;
no row of either ever leaves the database, only group figures.
"""

from typing import Any

from sqlalchemy import ColumnElement, Label, Select, case, exists, func, select

from app.models import Complaint, Order

DIMENSIONS = ("week", "country", "state", "city", "payment_method")


def _week(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone("UTC", Order.placed_at)),
                            "YYYY-MM-DD")
    return func.date(Order.placed_at, "weekday 0", "-6 days")  # SQLite: Monday of the week


def _delivery_days(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", Order.delivered_at - Order.placed_at) / 86400
    return func.julianday(Order.delivered_at) - func.julianday(Order.placed_at)


def order_groups(dialect: str, group_by: tuple[str, ...], *, k: int) -> Select[Any]:
    """Orders, amounts, delivery times and complaints per group of at least k customers."""
    columns = {"week": _week(dialect), "country": Order.ship_country, "state": Order.ship_state,
               "city": Order.ship_city, "payment_method": Order.payment_method}
    keys: list[Label[Any]] = [columns[name].label(name) for name in group_by]
    keys.append(Order.currency.label("currency"))
    complained = exists().where(Complaint.customer_id == Order.customer_id,
                                Complaint.received_at >= Order.placed_at)
    return (select(*keys, func.count().label("orders"),
                   func.sum(Order.total_amount).label("total_amount"),
                   func.avg(_delivery_days(dialect)).label("average_delivery_days"),
                   func.sum(case((complained, 1), else_=0)).label("complaints"))
            .group_by(*keys)
            .having(func.count(Order.customer_id.distinct()) >= k)
            .order_by(*keys))
