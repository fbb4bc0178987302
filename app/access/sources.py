"""What the gate must know about one resource's rows to read them for a caller."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

from app.access.projection import FieldReader
from app.core.errors import AppError
from app.policy.purposes import Resource


def _no_key(row: Any) -> str | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A resource's field readers, whose data each row is, and how absence is told.

    `arrived` says a row's delivery is over (its delivery data sealed), `unarrived` is the
    same as an SQL condition, so partners that lose sight of arrived rows never fetch them.
    `audit_each_row` records one entry per row; otherwise one per read of the subject.
    """

    resource: Resource
    readers: Mapping[str, FieldReader]
    subject: Callable[[Any], str | None]
    not_found: Callable[[], AppError]
    key: Callable[[Any], str | None] = _no_key
    arrived: Callable[[Any], bool] | None = None
    unarrived: ColumnElement[bool] | None = None
    audit_each_row: bool = True


class Records(NamedTuple):
    """A customer's records of one resource, and the (moment, id) columns that list them
    oldest first, so they can be read page by page."""

    statement: Select[Any]
    order: tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]
