"""The privacy officer's questions: filtered, keyset-paginated search and streamed exports."""

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from app.audit import export
from app.audit.queries import OFFICER_FIELDS, AuditQuery, search, selection
from app.policy.roles import Role
from tests.factories import create_customer
from tests.integration.audit_support import entry_values, insert_rows

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
async def trail(app) -> list[dict]:
    """Six entries over six hours, each differing from the first in one respect."""
    rows = [
        entry_values(app, at=_at(0), subject_id="c-1", resource_id="c-1"),
        entry_values(app, at=_at(1), subject_id="c-2", resource_id="c-2"),
        entry_values(app, at=_at(2), subject_id="c-1", actor_id="agent-9", resource_id="c-1"),
        entry_values(app, at=_at(3), subject_id="c-1", role="fraud_analyst", purpose="fraud",
                     resource_id="c-1"),
        entry_values(app, at=_at(4), subject_id="c-1", resource="order", resource_id="o-1"),
        entry_values(app, at=_at(5), subject_id="c-1", action="update", resource_id="c-1"),
    ]
    await insert_rows(app, rows)
    return rows


async def _ids(app, query: AuditQuery, limit: int = 50) -> list[str]:
    async with app.state.sessions() as session:
        found, cursor = await search(session, query, cursor=None, limit=limit)
    assert cursor is None
    return [entry.id for entry in found]


@pytest.mark.parametrize(("query", "positions"), [
    (AuditQuery(subject_id="c-2"), [1]),
    (AuditQuery(actor_id="agent-9"), [2]),
    (AuditQuery(actor_role="fraud_analyst"), [3]),
    (AuditQuery(purpose="fraud"), [3]),
    (AuditQuery(resource="order"), [4]),
    (AuditQuery(resource="customer", resource_id="c-2"), [1]),
    (AuditQuery(action="update"), [5]),
    (AuditQuery(occurred_from=_at(1), occurred_to=_at(3)), [2, 1]),
    (AuditQuery(subject_id="c-1", actor_role="support_agent", action="read",
                occurred_from=_at(1)), [4, 2]),
    (AuditQuery(), [5, 4, 3, 2, 1, 0]),
])
async def test_each_filter_selects_exactly_its_entries_newest_first(app, trail, query,
                                                                      positions):
    """Every criterion narrows the selection; the time range is [from, to)."""
    assert await _ids(app, query) == [trail[p]["id"] for p in positions]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(app, trail):
    """Pages of two walk the whole trail once, newest first."""
    seen, cursor = [], None
    async with app.state.sessions() as session:
        while True:
            page, cursor = await search(session, AuditQuery(), cursor=cursor, limit=2)
            seen += [entry.id for entry in page]
            assert len(page) <= 2
            if cursor is None:
                break
    assert seen == [row["id"] for row in reversed(trail)]


async def test_json_lines_export_streams_in_batches(app, trail):
    """Batches of two: three chunks for six entries, each line a whole entry."""
    async with app.state.engine.connect() as connection:
        chunks = [chunk async for chunk in export.as_json_lines(
            connection, AuditQuery(subject_id="c-1"), batch=2)]
    assert len(chunks) == 3
    lines = [json.loads(line) for chunk in chunks for line in chunk.splitlines()]
    assert [line["id"] for line in lines] == [trail[p]["id"] for p in (0, 2, 3, 4, 5)]
    assert set(lines[0]) == set(OFFICER_FIELDS)
    assert lines[0]["occurred_at"] == T0.isoformat() and lines[0]["fields"] == ["name"]


async def test_csv_export_has_a_header_and_one_row_per_entry(app, trail):
    """CSV with the officer's columns; field names space-separated."""
    async with app.state.engine.connect() as connection:
        chunks = [chunk async for chunk in export.as_csv(
            connection, AuditQuery(occurred_to=_at(2)), batch=1)]
    assert len(chunks) == 3  # header, then one chunk per batch
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [row["id"] for row in rows] == [trail[0]["id"], trail[1]["id"]]
    assert rows[0]["fields"] == "name" and rows[0]["purpose"] == "service"


async def test_exports_never_hold_personal_values(client, auth, app):
    """An export of real reads names fields, never the customer's name, email or phone."""
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    response = await client.get(f"/v1/customers/{customer_id}",
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    values = [v for v in response.json().values() if isinstance(v, str) and v != customer_id]
    assert values
    async with app.state.engine.connect() as connection:
        exported = "".join([chunk async for chunk in export.as_json_lines(
            connection, AuditQuery(subject_id=customer_id))])
        exported += "".join([chunk async for chunk in export.as_csv(
            connection, AuditQuery(subject_id=customer_id))])
    assert customer_id in exported
    for value in values:
        assert value not in exported


class _Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, stmt) -> None:
        self.stmt = stmt


@compiles(_Explain)
def _explain(element, compiler, **kw) -> str:
    return "EXPLAIN " + compiler.process(element.stmt, **kw)


SEED = """
INSERT INTO audit_entry (id, occurred_at, actor_id, actor_role, purpose, action, subject_id,
                         resource, resource_id, fields, request_id, entry_mac, seq, chain_hash)
SELECT md5(i::text)::uuid::text, now() - make_interval(secs => i),
       'agent-' || (i % 500),
       CASE WHEN i % 200 = 0 THEN 'fraud_analyst' ELSE 'support_agent' END,
       CASE WHEN i % 200 = 0 THEN 'fraud' ELSE 'service' END,
       CASE WHEN i % 50 = 0 THEN 'update' ELSE 'read' END,
       md5((i % 20000)::text)::uuid::text,
       CASE WHEN i % 3 = 0 THEN 'order' ELSE 'customer' END, md5((i % 20000)::text),
       '["name"]', 'req-' || i, md5(i::text) || md5(i::text), i, md5(i::text) || md5(i::text)
FROM generate_series(1, :rows) AS i
"""


@pytest.mark.skipif(
    not (os.environ.get("PRIVACY_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="the query plans checked are PostgreSQL's")
async def test_officer_queries_use_an_index_at_scale(app):
    """With 100,000 entries, each kind of question is answered from an index in every
    partition holding entries (empty partitions may be scanned: there is nothing to read)."""
    async with app.state.engine.begin() as connection:
        await connection.execute(text(SEED), {"rows": 100_000})
        await connection.execute(text("ANALYZE audit_entry"))
        filled = (await connection.execute(text(
            "SELECT DISTINCT tableoid::regclass::text FROM audit_entry"))).scalars().all()
    day_ago = datetime.now(UTC) - timedelta(days=1)
    questions = [
        AuditQuery(subject_id="7b8b965a-d4be-e1b9-2c4f-2d6c0d7b2b88"),
        AuditQuery(actor_id="agent-7"),
        AuditQuery(actor_role="fraud_analyst"),
        AuditQuery(purpose="fraud", occurred_from=day_ago),
        AuditQuery(resource="order", resource_id="c81e728d9d4c2f636f067f89cc14862c"),
        AuditQuery(occurred_from=day_ago, occurred_to=day_ago + timedelta(hours=1)),
    ]
    async with app.state.engine.connect() as connection:
        for question in questions:
            stmt = selection(question).order_by(text("occurred_at DESC, id DESC")).limit(51)
            plan = "\n".join((await connection.execute(_Explain(stmt))).scalars())
            assert "Index" in plan, (question, plan)
            for partition in filled:
                assert f"Seq Scan on {partition} " not in plan, (question, plan)
