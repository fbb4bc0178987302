"""The officer's lists read from their index: the statement the app sends for a first page and
for a cursor page is an index range scan in the list's order, never a sort (PostgreSQL).

The test tables hold a few thousand rows, where reading the whole table and sorting it really
is cheapest, so `enable_seqscan` is off while explaining: the planner then shows the index
path it takes when the table is large (bench/explain.py shows the same plans at a million rows
with every setting at its default). The rows are a shop's history (2,000 customers, each with
a closed request and an answered complaint; staff's complaint lists join the customers staff
may see, and with two customers the planner would start from them) and the few rows each test
lists. Earlier tests leave the tables' indexes full of deleted entries, which would make a
range of a tiny index look dearer than a sort of a few rows: the fixture rebuilds them.
"""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from app.complaints.models import Complaint
from app.complaints.public import records_of
from app.core.db import new_id, utcnow
from app.policy.roles import Role
from app.requests.models import PrivacyRequest
from tests.conftest import TEST_DATABASE_URL
from tests.factories import create_customer

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL or TEST_DATABASE_URL.startswith("sqlite"),
                                reason="PostgreSQL plans; set PRIVACY_TEST_DATABASE_URL")
DAY = timedelta(days=1)
SCANS = ("Index Scan", "Index Only Scan")
HISTORY = (  # 2,000 earlier customers, each with a closed request and an answered complaint
    "INSERT INTO customer (id, created_at, updated_at) SELECT md5('plan' || n)::uuid, "
    "now(), now() FROM generate_series(1, 2000) AS n",
    "INSERT INTO privacy_request (id, customer_id, type, state, received_at, due_at, "
    "completed_at, code_attempts, filed_by_role, filed_by_id) SELECT md5('request' || n)::uuid, "
    "md5('plan' || n)::uuid, 'consent_withdrawal', 'completed', now() - interval '1 year', "
    "now() - interval '1 year', now() - interval '1 year', 0, 'customer', 'c' "
    "FROM generate_series(1, 2000) AS n",
    "INSERT INTO complaint (id, customer_id, kind, body_enc, received_at, due_at, answered_at) "
    "SELECT md5('complaint' || n)::uuid, md5('plan' || n)::uuid, 'inquiry', 'not read by lists', "
    "now() - interval '1 year', now() - interval '1 year', now() - interval '1 year' "
    "FROM generate_series(1, 2000) AS n",
)


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _explain(engine, statement: str, parameters) -> list[dict]:
    async with engine.connect() as connection, connection.begin():
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                                  tuple(parameters))
        document = result.scalar_one()
    return list(_nodes((json.loads(document) if isinstance(document, str)
                        else document)[0]["Plan"]))


class Sent:
    """The SELECTs the app sends to a table while it is watched."""

    def __init__(self, engine, table: str) -> None:
        self.engine, self.table, self.statements = engine.sync_engine, table, []

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().startswith("SELECT") and f"FROM {self.table}" in statement:
            self.statements.append((statement, parameters))

    def __enter__(self) -> "Sent":
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def _page_plans(client, app, engine, path: str, params: dict, headers: dict, *,
                      table: str) -> list[tuple[str, list[dict]]]:
    """The plans of a list's first page and of the page after it, as the app sends them."""
    plans, cursor = [], None
    for page in range(2):
        with Sent(app.state.engine, table) as sent:
            response = await client.get(path, headers=headers, params={
                **params, "limit": 1, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        assert len(sent.statements) == 1
        statement, parameters = sent.statements[0]
        plans.append((statement, await _explain(engine, statement, parameters)))
        cursor = response.json()["next_cursor"]
        assert cursor is not None or page == 1, "each list needs a second page"
    return plans


def _assert_index_range(statement: str, plan: list[dict], index: str, *, cursor: bool) -> None:
    assert not [n["Node Type"] for n in plan if "Sort" in n["Node Type"]], plan
    scans = [n for n in plan if n["Node Type"] in SCANS and n.get("Index Name") == index]
    assert scans, (index, [(n["Node Type"], n.get("Index Name")) for n in plan])
    if cursor:
        assert " > (" in statement  # the keyset condition, as a row comparison
        assert "ROW(" in scans[0].get("Index Cond", ""), scans[0]  # an index bound, no filter


@pytest.fixture
async def listed(client, auth, app, inspection_engine):
    """Requests and complaints enough for two pages of every list."""
    now = utcnow()
    customers = [await create_customer(client, headers=auth(Role.STOREFRONT)) for _ in range(2)]
    requests = [PrivacyRequest(id=new_id(), customer_id=customers[n % 2], type=type_, state=state,
                               received_at=now - (n + 1) * DAY, due_at=now - (8 - n) * DAY,
                               code_attempts=0, filed_by_role="customer",
                               filed_by_id=customers[n % 2])
                for n, (type_, state) in enumerate([
                    ("access", "verified"), ("correction", "awaiting_verification"),
                    ("access", "completed"), ("access", "completed"), ("deletion", "verified"),
                    ("correction", "completed"), ("deletion", "completed"),
                    ("access", "verified")])]
    complaints = [Complaint(id=new_id(), customer_id=customers[k], kind="inquiry",
                            body_enc="not read by lists", received_at=now - (n + 1) * DAY,
                            due_at=now - n * DAY, answered_at=now if n >= 2 else None)
                  for n in range(4) for k in range(2)]
    async with app.state.sessions() as db, db.begin():
        db.add_all([*requests, *complaints])
        for statement in HISTORY:
            await db.execute(text(statement))
    async with inspection_engine.connect() as connection:
        maintenance = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await maintenance.exec_driver_sql(
            "VACUUM FULL ANALYZE customer, complaint, privacy_request")
    return customers


@pytest.mark.parametrize("params,index", [
    ({}, "ix_privacy_request_received"),
    ({"state": "verified"}, "ix_privacy_request_state_received"),
    ({"type": "access"}, "ix_privacy_request_type_received"),
    ({"state": "completed", "type": "access"}, "ix_privacy_request_state_type_received"),
    ({"overdue": "true"}, "ix_privacy_request_open_due"),
])
async def test_request_lists_are_index_ranges(client, auth, app, inspection_engine, listed,
                                              params, index):
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    plans = await _page_plans(client, app, inspection_engine, "/v1/requests", params, officer,
                              table="privacy_request")
    for page, (statement, plan) in enumerate(plans):
        _assert_index_range(statement, plan, index, cursor=page > 0)


@pytest.mark.parametrize("params,index", [
    ({}, "ix_complaint_received"),
    ({"answered": "false"}, "ix_complaint_unanswered_received"),
    ({"answered": "true"}, "ix_complaint_received"),  # nearly all are: a filter on the range
    ({"overdue": "true"}, "ix_complaint_unanswered_due"),
])
async def test_complaint_lists_are_index_ranges(client, auth, app, inspection_engine, listed,
                                                params, index):
    staff = auth(Role.SUPPORT_AGENT, purpose="service")
    plans = await _page_plans(client, app, inspection_engine, "/v1/complaints", params, staff,
                              table="complaint")
    for page, (statement, plan) in enumerate(plans):
        _assert_index_range(statement, plan, index, cursor=page > 0)


async def test_a_customers_complaints_are_read_from_their_index(app, inspection_engine, listed):
    """One customer's complaints in the access export's order: found through the index leading
    with the customer; their few rows may be sorted."""
    records = records_of(listed[0])
    with Sent(app.state.engine, "complaint") as sent:
        async with app.state.sessions() as db:
            found = await db.scalars(records.statement.order_by(*records.order))
            assert len(found.all()) == 4
    statement, parameters = sent.statements[0]
    plan = await _explain(inspection_engine, statement, parameters)
    scans = [n for n in plan if n.get("Index Name") == "ix_complaint_customer_received"]
    assert scans and "customer_id" in scans[0]["Index Cond"], plan
