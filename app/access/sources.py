"""What the gate must know about one resource's rows to read them for a caller."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, Table
from sqlalchemy.orm import InstrumentedAttribute

from app.access.projection import FieldReader
from app.core.crypto import Keys
from app.core.errors import AppError
from app.policy.purposes import Resource


def _no_key(row: Any) -> str | None:
    return None


def as_stored(keys: Keys, value: Any) -> Any:
    """A column's value as stored (the maker of `stored` fields)."""
    return value


@dataclass(frozen=True, slots=True)
class Stored:
    """A field made from stored columns: their names, in the order `make(keys, *values)` takes
    them. Called as a `FieldReader` it reads them off a mapped row; the gate's plans read them
    by position off plain rows."""

    columns: tuple[str, ...]
    make: Callable[..., Any]

    def __call__(self, row: Any, keys: Keys) -> Any:
        return self.make(keys, *[getattr(row, column) for column in self.columns])


def stored(column: str) -> Stored:
    """A column as stored."""
    return Stored((column,), as_stored)


def decrypted(column: str, context: str, *, optional: bool = False) -> Stored:
    """An encrypted column, opened under its context and bound to the row's `id`."""
    if optional:
        return Stored((column, "id"), lambda keys, token, row_id: keys.cipher.decrypt_optional(
            token, context=context, row_id=row_id))
    return Stored((column, "id"), lambda keys, token, row_id: keys.cipher.decrypt(
        token, context=context, row_id=row_id))


@dataclass(frozen=True, slots=True, kw_only=True)
class Children:
    """Child rows one field lists (an order's items): the child table, its column holding the
    record's id, its order, and the columns each child shows, by name."""

    field: str
    table: Table
    parent: str
    order_by: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rows:
    """Where a source's records are stored, for reads without the ORM (every reader `Stored`):
    the table, the columns naming each record's subject and key, those telling that it arrived
    (any one set), and the child rows a field lists."""

    table: Table
    subject: str
    key: str | None = None
    arrived: tuple[str, ...] = ()
    children: Children | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A resource's field readers, whose data each row is, and how absence is told.

    `arrived` says a row's delivery is over (its delivery data sealed), `unarrived` is the
    same as an SQL condition, so partners that lose sight of arrived rows never fetch them.
    `audit_each_row` records one entry per row; otherwise one per read of the subject.
    `rows` lets the gate read the resource without the ORM (see `app.access.plans`).
    """

    resource: Resource
    readers: Mapping[str, FieldReader]
    subject: Callable[[Any], str | None]
    not_found: Callable[[], AppError]
    key: Callable[[Any], str | None] = _no_key
    arrived: Callable[[Any], bool] | None = None
    unarrived: ColumnElement[bool] | None = None
    audit_each_row: bool = True
    rows: Rows | None = None


class Records(NamedTuple):
    """A customer's records of one resource, and the (moment, id) columns that list them
    oldest first, so they can be read page by page."""

    statement: Select[Any]
    order: tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]
