"""Reads planned once per resource and allowed fields: which stored columns to select, and how
each allowed field is made from a row read by position (decrypting where needed).

A plan is built the first time a (resource, fields) pair is read and reused after that; the
fields come from the policy decision of each read, so a plan never outlives the purpose table.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Select

from app.access.sources import Children, Rows, Source, Stored, as_stored
from app.core.crypto import Keys

Maker = tuple[str, Callable[..., Any], tuple[int, ...] | None]
"""A field's name, how it is made, and the positions of its columns (None: the child rows)."""


def _listed(children: Children, start: int) -> Callable[[Sequence[Sequence[Any]]], list[dict]]:
    """The children field: one dict per joined child row (a LEFT JOIN's empty row skipped)."""
    names = children.columns

    def make(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [dict(zip(names, row[start + 1:], strict=True)) for row in rows
                if row[start] is not None]

    return make


@dataclass(frozen=True, slots=True)
class Shape:
    """The fields one decision shows, in order, each with its maker; `copied` picks them all
    off a row at once when every one is a column as stored (an access-log entry)."""

    fields: tuple[str, ...]
    makers: tuple[Maker, ...]
    copied: Callable[[Sequence[Any]], Sequence[Any]] | None = None

    def values(self, rows: Sequence[Sequence[Any]], keys: Keys) -> dict[str, Any]:
        """The shown values of one record: its row, or its rows with one child each."""
        row = rows[0]
        if self.copied is not None:
            return dict(zip(self.fields, self.copied(row), strict=True))
        values = {}
        for name, make, at in self.makers:
            values[name] = make(rows) if at is None else make(keys, *[row[i] for i in at])
        return values


@dataclass(frozen=True, slots=True)
class Plan:
    """How a resource is read for a set of allowed fields: the record's columns selected, in
    order (then the child columns, when a shown field lists children), the shape of a record
    still open and of one that arrived (None: it may not be read once arrived)."""

    rows: Rows
    columns: tuple[str, ...]
    children: tuple[str, ...]
    open: Shape
    sealed: Shape | None

    def at(self, column: str) -> int:
        """Where a record column is in a row."""
        return self.columns.index(column)

    def arrived(self, row: Sequence[Any]) -> bool:
        """Whether the record's delivery is over (any arrival column set)."""
        return any(row[self.at(column)] is not None for column in self.rows.arrived)

    def shape(self, fields: tuple[str, ...]) -> Shape:
        """The shape showing exactly `fields`."""
        for shape in (self.open, self.sealed):
            if shape is not None and shape.fields == fields:
                return shape
        raise LookupError(f"no shape of this plan shows {fields}")


def _columns(source: Source, rows: Rows, fields: Sequence[str]) -> list[str]:
    needed = [rows.subject, *([rows.key] if rows.key else []), *rows.arrived]
    for name in fields:
        reader = source.readers[name]
        if rows.children is not None and name == rows.children.field:
            continue
        if not isinstance(reader, Stored):
            raise TypeError(f"{source.resource}.{name} is not read from stored columns")
        needed.extend(reader.columns)
    return list(dict.fromkeys(needed))


def _shape(source: Source, fields: tuple[str, ...], columns: tuple[str, ...]) -> Shape:
    children = source.rows.children if source.rows else None
    makers: list[Maker] = []
    for name in fields:
        if children is not None and name == children.field:
            makers.append((name, _listed(children, len(columns)), None))
        else:
            reader = source.readers[name]
            assert isinstance(reader, Stored)  # checked when the columns were planned
            makers.append((name, reader.make, tuple(columns.index(c) for c in reader.columns)))
    positions = [at[0] for _, make, at in makers if make is as_stored and at is not None]
    if len(positions) < 2 or len(positions) < len(makers):
        return Shape(fields, tuple(makers))
    return Shape(fields, tuple(makers), itemgetter(*positions))


_PLANS: dict[tuple[Any, ...], Plan] = {}


def plan_for(source: Source, open_fields: tuple[str, ...], sealed_fields: tuple[str, ...] | None,
             *, ordered_by: tuple[str, ...] = ()) -> Plan:
    """The plan reading `source` for these allowed fields (and `ordered_by` columns)."""
    key = (source.resource, open_fields, sealed_fields, ordered_by)
    plan = _PLANS.get(key)
    if plan is None:
        rows = source.rows
        if rows is None:
            raise TypeError(f"{source.resource} has no stored rows to plan a read of")
        shown = open_fields + (sealed_fields or ())
        columns = tuple(dict.fromkeys([*_columns(source, rows, shown), *ordered_by]))
        listed = rows.children if rows.children and rows.children.field in shown else None
        children = (listed.parent, *listed.columns) if listed else ()
        plan = _PLANS[key] = Plan(
            rows, columns, children, _shape(source, open_fields, columns),
            None if sealed_fields is None else _shape(source, sealed_fields, columns))
    return plan


@lru_cache(maxsize=256)
def narrowed(stmt: Select[Any], plan: Plan) -> Select[Any]:
    """A caller-scoped statement of the plan's table, selecting only the plan's columns (and
    the child rows joined in their order, when a shown field lists them)."""
    table = plan.rows.table
    picked = stmt.with_only_columns(*[table.c[name] for name in plan.columns])
    children = plan.rows.children
    if not plan.children or children is None:
        return picked
    child = children.table
    return (picked.add_columns(*[child.c[name] for name in plan.children])
            .outerjoin(child, child.c[children.parent] == table.c.id)
            .order_by(child.c[children.order_by]))
