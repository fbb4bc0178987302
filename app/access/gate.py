"""The gate every read of personal data passes: decide, fetch, consent, project, audit."""

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import CTE, Select, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.access.callers import Reader, Writer
from app.access.errors import ConsentWithdrawn, PurposeNotPermitted, ShipmentDelivered
from app.access.plans import Plan, narrowed, plan_for
from app.access.projection import GATE_TOKEN, Projection
from app.access.sources import Source
from app.audit import public as audit
from app.consents import public as consents
from app.core.pagination import bound_keyset, encode_cursor, keyset, next_cursor, page_params
from app.core.statements import statements
from app.policy.decisions import Decision, Reason, decide
from app.policy.purposes import PURPOSE_TABLE, Resource

Fetch = Callable[[AsyncSession], Awaitable[Sequence[Any]]]
"""A caller-scoped fetch, for records that are not one SELECT's rows (e.g. consent states)."""

Query = Select[Any] | Fetch


def _refusal(reader: Reader, resource: Resource, decision: Decision) -> Exception:
    if decision.reason is Reason.GONE_AFTER_DELIVERY:
        return ShipmentDelivered(
            "This order was delivered; its delivery data is no longer shared. Destroy your "
            "copy and confirm with POST /v1/orders/{order_number}/destruction.")
    if decision.reason is Reason.RESOURCE_NOT_COVERED:
        return PurposeNotPermitted(f"The {reader.purpose} purpose does not cover {resource} data.")
    return PurposeNotPermitted(f"Role {reader.actor.role} may not read for {reader.purpose}.")


def fields_for(reader: Reader, source: Source, *, arrived: bool = False,
               only: Collection[str] | None = None) -> tuple[str, ...]:
    """Fields of the source's resource this reader may see, or raise why not."""
    decision = decide(reader.actor.role, reader.purpose, source.resource, delivered=arrived)
    if not decision.allowed:
        raise _refusal(reader, source.resource, decision)
    return decision.fields if only is None else tuple(f for f in decision.fields if f in only)


def covers(reader: Reader, resource: Resource) -> bool:
    """Whether the reader's purpose covers any field of `resource` at all."""
    return decide(reader.actor.role, reader.purpose, resource).allowed


async def _withdrawn(reader: Reader, subject_ids: Iterable[str | None]) -> set[str]:
    if not PURPOSE_TABLE[reader.purpose].consent_based:
        return set()
    ids = {s for s in subject_ids if s is not None}
    return await consents.withdrawn_among(reader.session, reader.purpose.value, ids)


async def _ensure_consent(reader: Reader, subject_id: str | None) -> None:
    if await _withdrawn(reader, [subject_id]):
        raise ConsentWithdrawn(f"The customer withdrew consent to {reader.purpose}.")


def _project(reader: Reader, source: Source, fields: tuple[str, ...], row: Any) -> Projection:
    values = {name: source.readers[name](row, reader.keys) for name in fields}
    return Projection(values, made_by=GATE_TOKEN)


async def _fetch(session: AsyncSession, query: Query) -> list[Any]:
    if isinstance(query, Select):
        return list((await session.scalars(query)).all())
    return list(await query(session))


async def _audit(reader: Reader, source: Source,
                 entries: Iterable[tuple[str | None, str | None, Iterable[str]]]) -> None:
    await audit.record(reader.session, reader.actor, key=reader.keys.audit_key, action="read",
                       purpose=str(reader.purpose),
                       resource=str(source.resource), entries=entries)


def _shaped(reader: Reader, source: Source, rows: Sequence[Any],
            only: Collection[str] | None) -> list[tuple[Any, tuple[str, ...]]]:
    """Each row with the fields it may show: arrived rows may show fewer."""
    open_fields = fields_for(reader, source, only=only)
    if source.arrived is None:
        return [(row, open_fields) for row in rows]
    sealed = decide(reader.actor.role, reader.purpose, source.resource, delivered=True)
    sealed_fields = tuple(f for f in sealed.fields if only is None or f in only)
    return [(row, sealed_fields if source.arrived(row) else open_fields) for row in rows
            if not (source.arrived(row) and not sealed.allowed)]


async def _present(reader: Reader, source: Source, rows: Sequence[Any], *,
                   subject_id: str | None, only: Collection[str] | None) -> list[Projection]:
    """Consent, projection and audit of rows already fetched through a scoped query."""
    if subject_id is not None:
        await _ensure_consent(reader, subject_id)
        kept = list(rows)
    else:
        refused = await _withdrawn(reader, (source.subject(row) for row in rows))
        kept = [row for row in rows if source.subject(row) not in refused]
    shaped = _shaped(reader, source, kept, only)
    if source.audit_each_row:
        await _audit(reader, source, [(source.subject(row), source.key(row), fields)
                                      for row, fields in shaped])
    elif subject_id is not None:
        await _audit(reader, source, [(subject_id, None, fields_for(reader, source, only=only))])
    return [_project(reader, source, fields, row) for row, fields in shaped]


def _entry(reader: Reader, source: Source, *, subject_id: str | None, resource_id: str | None,
           fields: tuple[str, ...]) -> dict:
    return audit.entry(reader.actor, key=reader.keys.audit_key, action="read",
                       purpose=str(reader.purpose), resource=str(source.resource),
                       subject_id=subject_id, resource_id=resource_id, fields=fields)


def _sealed_fields(reader: Reader, source: Source) -> tuple[str, ...] | None:
    """The fields of an arrived record, or None if it may not be read once arrived."""
    if source.rows is None or not source.rows.arrived:
        return None
    sealed = decide(reader.actor.role, reader.purpose, source.resource, delivered=True)
    return sealed.fields if sealed.allowed else None


async def read_known(reader: Reader, source: Source, query: tuple[Select[Any], dict], *,
                     subject_id: str, resource_id: str | None) -> Projection:
    """One record whose subject and id the caller named, read and audited in one statement
    (two in one transaction where the database cannot insert from a read); no ORM."""
    fields = fields_for(reader, source)
    await _ensure_consent(reader, subject_id)
    plan = plan_for(source, fields, None)
    stmt, params = query
    values = _entry(reader, source, subject_id=subject_id, resource_id=resource_id,
                    fields=fields)
    async with statements(reader.session) as run:
        rows = await audit.fetch_one_recorded(run, narrowed(stmt, plan), params, values)
    if not rows:
        raise source.not_found()
    return Projection(plan.open.values(rows, reader.keys), made_by=GATE_TOKEN)


async def read_found(reader: Reader, source: Source, query: tuple[Select[Any], dict]
                     ) -> Projection:
    """The record a caller-scoped statement finds (by its key), read without the ORM. Its
    subject and, once it arrived, its fields are known from the row only, so its entry follows
    the read on the same connection."""
    open_fields = fields_for(reader, source)  # refuse the purpose before revealing existence
    plan = plan_for(source, open_fields, _sealed_fields(reader, source))
    stmt, params = query
    async with statements(reader.session) as run:
        rows = await run.rows(narrowed(stmt, plan), params)
        if not rows:
            raise source.not_found()
        row = rows[0]
        subject_id = row[plan.at(plan.rows.subject)]
        await _ensure_consent(reader, subject_id)
        fields = fields_for(reader, source, arrived=plan.arrived(row))
        resource_id = row[plan.at(plan.rows.key)] if plan.rows.key else None
        await audit.record_on(run, _entry(reader, source, subject_id=subject_id,
                                          resource_id=resource_id, fields=fields))
    return Projection(plan.shape(fields).values(rows, reader.keys), made_by=GATE_TOKEN)


@lru_cache(maxsize=64)
def _subject_page(visible: Select[Any], entries: Select[Any], plan: Plan,
                  order: tuple[str, str], *, after: bool, descending: bool
                  ) -> tuple[Select[Any], CTE]:
    """The page of `entries` when `visible` finds their subject: `visible` LEFT JOIN the page,
    so no row means the subject is out of sight and one empty row an empty page."""
    table, (moment, row_id) = plan.rows.table, order
    page = bound_keyset(narrowed(entries, plan), table.c[moment], table.c[row_id], after=after,
                        descending=descending).subquery("page")
    found = visible.cte("visible")
    by = (page.c[moment], page.c[row_id])
    stmt = (select(*page.c).select_from(found.outerjoin(page, true()))
            .order_by(*((column.desc() for column in by) if descending else by)))
    return stmt, found


async def read_subject_page(reader: Reader, source: Source, visible: tuple[Select[Any], dict],
                            entries: Select[Any], *, subject_id: str,
                            absent: Callable[[], Exception], order: tuple[str, str],
                            cursor: str | None, limit: int, descending: bool = False
                            ) -> dict[str, Any]:
    """A keyset page of one subject's records (`entries`, with the `subject_id` parameter),
    only if the caller-scoped `visible` finds the subject (`absent()` is raised otherwise),
    read and audited once in one statement where the database allows it; no ORM."""
    fields = fields_for(reader, source)
    await _ensure_consent(reader, subject_id)
    plan = plan_for(source, fields, None, ordered_by=order)
    visible_stmt, visible_params = visible
    stmt, found = _subject_page(visible_stmt, entries, plan, order, after=bool(cursor),
                                descending=descending)
    params = {**visible_params, **page_params(cursor, limit, order[0]), "subject_id": subject_id}
    values = _entry(reader, source, subject_id=subject_id, resource_id=None, fields=fields)
    async with statements(reader.session) as run:
        rows = await audit.fetch_recorded(run, stmt, found, params, values)
    if not rows:
        raise absent()
    moment_at, id_at = plan.at(order[0]), plan.at(order[1])
    listed = [row for row in rows if row[id_at] is not None]
    following = None
    if len(listed) > limit:
        del listed[limit:]
        following = encode_cursor(listed[-1][moment_at], listed[-1][id_at], order[0])
    items = [Projection(plan.open.values((row,), reader.keys), made_by=GATE_TOKEN)
             for row in listed]
    return {"items": items, "next_cursor": following}


async def read_one(reader: Reader, source: Source, query: Query, *,
                   only: Collection[str] | None = None) -> Projection:
    """One record from a caller-scoped query; the source's 404 if the caller cannot see it."""
    fields_for(reader, source, only=only)  # refuse the purpose before revealing existence
    rows = await _fetch(reader.session, query)
    if not rows:
        raise source.not_found()
    row = rows[0]
    await _ensure_consent(reader, source.subject(row))
    arrived = source.arrived is not None and source.arrived(row)
    fields = fields_for(reader, source, arrived=arrived, only=only)
    await _audit(reader, source, [(source.subject(row), source.key(row), fields)])
    return _project(reader, source, fields, row)


async def read_all(reader: Reader, source: Source, query: Query, *,
                   subject_id: str | None = None,
                   only: Collection[str] | None = None) -> list[Projection]:
    """Every record of a caller-scoped query (bounded by the query itself)."""
    fields_for(reader, source, only=only)
    return await _present(reader, source, await _fetch(reader.session, query),
                          subject_id=subject_id, only=only)


def _visible(reader: Reader, source: Source, stmt: Select[Any]) -> Select[Any]:
    """Leave out rows the reader's role loses sight of once they arrived."""
    if source.unarrived is None:
        return stmt
    sealed = decide(reader.actor.role, reader.purpose, source.resource, delivered=True)
    return stmt if sealed.allowed else stmt.where(source.unarrived)


async def read_page(reader: Reader, source: Source, stmt: Select[Any], *,
                    order: tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]],
                    cursor: str | None, limit: int, descending: bool = False,
                    subject_id: str | None = None, only: Collection[str] | None = None
                    ) -> dict[str, Any]:
    """A keyset page of a caller-scoped statement; `subject_id` when all rows are one
    customer's (a withdrawn consent then refuses the read instead of thinning the page)."""
    fields_for(reader, source, only=only)
    moment, row_id = order
    paged = keyset(_visible(reader, source, stmt), moment, row_id, cursor=cursor, limit=limit,
                   descending=descending)
    rows = list((await reader.session.scalars(paged)).all())
    following = next_cursor(rows, limit, moment.key, row_id.key)
    items = await _present(reader, source, rows, subject_id=subject_id, only=only)
    return {"items": items, "next_cursor": following}


async def record_write(caller: Writer, resource: str, action: str, *, subject_id: str | None,
                       resource_id: str | None, fields: Iterable[str]) -> None:
    """Record a write, naming the fields changed but never their values."""
    purpose = caller.purpose if isinstance(caller, Reader) else None
    await audit.record(caller.session, caller.actor, key=caller.keys.audit_key, action=action,
                       purpose=str(purpose) if purpose else None, resource=str(resource),
                       entries=[(subject_id, resource_id, fields)])


async def record_aggregate_read(reader: Reader, resource: str, fields: Iterable[str], *,
                                subject_id: str | None = None) -> None:
    """Record a read that is not one record's: figures about groups, or a streamed selection
    of the trail (no projection; `subject_id` when it is about one customer)."""
    await audit.record(reader.session, reader.actor, key=reader.keys.audit_key, action="read",
                       purpose=str(reader.purpose), resource=resource,
                       entries=[(subject_id, None, fields)])
