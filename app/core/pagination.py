"""Keyset pagination with opaque cursors.

A cursor holds the position of the last row handed out and the column its list is ordered by,
so a cursor of one ordering (e.g. by receipt) is refused by a list of another (e.g. by due
date) instead of starting at a meaningless position.
"""

import base64
import json
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError

T = TypeVar("T")
MAX_LIMIT = 200


class InvalidCursor(AppError):
    status, code, title = 400, "invalid_cursor", "Invalid cursor"


class CursorOfOtherOrder(InvalidCursor):
    code, title = "cursor_order_mismatch", "Cursor of another ordering"


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(None, description="Null on the last page.")


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size, at most 200.")]
Cursor = Annotated[str | None, Query(description="Opaque cursor from the previous page.")]


def encode_cursor(moment: datetime, row_id: str, ordering: str) -> str:
    """Opaque cursor pointing just after (moment, row_id) in a list ordered by `ordering`."""
    raw = json.dumps([moment.isoformat(), row_id, ordering]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, ordering: str) -> tuple[datetime, str]:
    """The position a cursor points after; it must come from a list ordered by `ordering`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, row_id, issued_for = json.loads(base64.urlsafe_b64decode(padded))
        position = datetime.fromisoformat(moment)
        if position.tzinfo is None:
            raise ValueError("cursor time without a time zone")
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this service handed out.") from exc
    if issued_for != ordering:
        raise CursorOfOtherOrder(
            f"The cursor comes from a list in another order; this one is ordered by {ordering}. "
            "Start again without a cursor.")
    return position, str(row_id)


async def fetch_page(session: AsyncSession, stmt: Select, moment_col, id_col, *,
                     cursor: str | None, limit: int, descending: bool = False
                     ) -> tuple[list, str | None]:
    """One page of `stmt` ordered by (moment, id), and the cursor of the next page."""
    rows = list((await session.scalars(keyset(stmt, moment_col, id_col, cursor=cursor,
                                              limit=limit, descending=descending))).all())
    return rows, next_cursor(rows, limit, moment_col.key, id_col.key)


def keyset(stmt: Select, moment_col, id_col, *, cursor: str | None, limit: int,
           descending: bool = False) -> Select:
    """Order `stmt` by (moment, id), start after the cursor and fetch one extra row."""
    if cursor:
        after = tuple_(moment_col, id_col)
        position = _decode(cursor, moment_col.key)
        stmt = stmt.where(after < position if descending else after > position)
    if descending:
        return stmt.order_by(moment_col.desc(), id_col.desc()).limit(limit + 1)
    return stmt.order_by(moment_col, id_col).limit(limit + 1)


def bound_keyset(stmt: Select, moment_col, id_col, *, after: bool, descending: bool) -> Select:
    """`keyset` with the cursor's position and the page size as parameters, so one statement
    (compiled once) serves every page; `page_params` gives their values."""
    if after:
        position = tuple_(bindparam("after_moment", type_=moment_col.type),
                          bindparam("after_id", type_=id_col.type))
        stmt = stmt.where(tuple_(moment_col, id_col) < position if descending
                          else tuple_(moment_col, id_col) > position)
    order = (moment_col.desc(), id_col.desc()) if descending else (moment_col, id_col)
    return stmt.order_by(*order).limit(bindparam("page_size"))


def page_params(cursor: str | None, limit: int, ordering: str) -> dict:
    """The parameters of a `bound_keyset` page ordered by `ordering`: one extra row tells that
    more follow."""
    if not cursor:
        return {"page_size": limit + 1}
    moment, row_id = _decode(cursor, ordering)
    return {"page_size": limit + 1, "after_moment": moment, "after_id": row_id}


def next_cursor(rows: list, limit: int, moment_attr: str, id_attr: str = "id") -> str | None:
    """Trim the extra row fetched by `keyset` and return the cursor for the next page."""
    if len(rows) <= limit:
        return None
    del rows[limit:]
    last = rows[-1]
    return encode_cursor(getattr(last, moment_attr), getattr(last, id_attr), moment_attr)
