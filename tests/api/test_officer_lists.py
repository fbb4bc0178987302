"""The officer's lists page through every row once, in their documented order; a cursor of a
list in another order is refused."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from app.complaints.models import Complaint
from app.core.db import new_id, utcnow
from app.policy.roles import Role
from app.requests.models import PrivacyRequest
from tests.factories import create_customer

DAY = timedelta(days=1)


async def _customers(client, auth, n: int) -> list[str]:
    return [await create_customer(client, headers=auth(Role.STOREFRONT)) for _ in range(n)]


async def _store_requests(app, rows: list[dict]) -> list[PrivacyRequest]:
    """Requests as the service leaves them, with the times each test needs."""
    requests = [PrivacyRequest(id=new_id(), code_attempts=0, filed_by_role="customer",
                               filed_by_id=row["customer_id"], **row) for row in rows]
    async with app.state.sessions() as db, db.begin():
        db.add_all(requests)
    return requests


async def _pages(client, url: str, headers: dict, *, limit: int) -> list[list[str]]:
    """Every page of a list (`url` may hold its filters), following the cursors."""
    path, _, query = url.partition("?")
    filters = dict(pair.split("=") for pair in query.split("&") if pair)
    pages, cursor = [], None
    while True:
        params = {**filters, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


def _ordered(rows, moment: str) -> list[str]:
    return [row.id for row in sorted(rows, key=lambda r: (getattr(r, moment), r.id))]


@pytest.fixture
def officer(auth) -> dict:
    return auth(Role.PRIVACY_OFFICER, sub="dpo", purpose="oversight")


async def test_overdue_requests_page_once_each_most_overdue_first(client, auth, app, officer):
    """Ties on the due date are broken by id; closed and not yet due requests stay out."""
    now = utcnow()
    first, second, third = await _customers(client, auth, 3)
    tie = now - 3 * DAY
    rows = [  # (customer, type, state, received, due)
        (first, "access", "verified", 20, now - 5 * DAY),
        (first, "correction", "awaiting_verification", 18, tie),
        (second, "access", "verified", 19, tie),
        (second, "deletion", "verified", 10, now - 2 * DAY),
        (third, "access", "awaiting_verification", 9, now - DAY),
        (third, "correction", "verified", 8, now - 7 * DAY),
        (third, "deletion", "verified", 1, now + DAY),            # not due yet
        (first, "access", "completed", 40, now - 30 * DAY),       # closed
        (second, "access", "rejected", 41, now - 31 * DAY),       # closed
    ]
    stored = await _store_requests(app, [
        {"customer_id": c, "type": t, "state": s, "received_at": now - r * DAY, "due_at": d}
        for c, t, s, r, d in rows])
    overdue = [r for r in stored if r.state in ("verified", "awaiting_verification")
               and r.due_at < now]

    pages = await _pages(client, "/v1/requests?overdue=true", officer, limit=2)

    assert [len(page) for page in pages] == [2, 2, 2]
    assert sum(pages, []) == _ordered(overdue, "due_at")
    everything = await _pages(client, "/v1/requests", officer, limit=4)
    assert sum(everything, []) == _ordered(stored, "received_at")


@pytest.mark.parametrize("query,expected", [
    ("state=verified", lambda r: r.state == "verified"),
    ("type=access", lambda r: r.type == "access"),
    ("state=completed&type=access", lambda r: r.state == "completed" and r.type == "access"),
    ("overdue=true&state=verified", lambda r: r.state == "verified" and r.due_at < utcnow()),
    ("overdue=true&state=completed", lambda r: False),
])
async def test_request_lists_by_state_and_type_page_in_their_order(client, auth, app, officer,
                                                                   query, expected):
    now = utcnow()
    customers = await _customers(client, auth, 2)
    stored = await _store_requests(app, [
        {"customer_id": customers[n % 2], "type": type_, "state": state,
         "received_at": now - (n + 1) * DAY, "due_at": now - (7 - n) * DAY}
        for n, (type_, state) in enumerate([
            ("access", "verified"), ("correction", "verified"), ("deletion", "verified"),
            ("consent_withdrawal", "awaiting_verification"), ("access", "completed"),
            ("access", "completed"), ("deletion", "completed")])])
    moment = "due_at" if "overdue" in query else "received_at"

    pages = await _pages(client, f"/v1/requests?{query}", officer, limit=1)

    assert sum(pages, []) == _ordered([r for r in stored if expected(r)], moment)


async def _store_complaints(client, auth, inspection_engine, customer_id: str,
                            times: list[tuple[datetime, datetime, datetime | None]]
                            ) -> list[Complaint]:
    """Complaints filed through the API, then moved to the given (received, due, answered)."""
    stored = []
    for received, due, answered in times:
        created = await client.post("/v1/complaints", json={
            "customer_id": customer_id, "body": "Where is my order?"},
            headers=auth(Role.STOREFRONT))
        complaint_id = created.json()["id"]
        async with inspection_engine.begin() as connection:
            await connection.execute(update(Complaint).where(Complaint.id == complaint_id)
                                     .values(received_at=received, due_at=due,
                                             answered_at=answered))
        stored.append(Complaint(id=complaint_id, received_at=received, due_at=due,
                                answered_at=answered))
    return stored


async def test_overdue_complaints_page_once_each_most_overdue_first(client, auth, officer,
                                                                     inspection_engine):
    now = utcnow()
    customer_id = (await _customers(client, auth, 1))[0]
    tie = now - 2 * DAY
    stored = await _store_complaints(client, auth, inspection_engine, customer_id, [
        (now - 9 * DAY, now - 4 * DAY, None),
        (now - 8 * DAY, tie, None),
        (now - 7 * DAY, tie, None),
        (now - 6 * DAY, now - 6 * DAY, None),
        (now - 5 * DAY, now - DAY, None),
        (now - 4 * DAY, now + DAY, None),                   # not due yet
        (now - 20 * DAY, now - 17 * DAY, now - 18 * DAY),   # answered
    ])
    overdue = [c for c in stored if c.answered_at is None and c.due_at < now]

    pages = await _pages(client, "/v1/complaints?overdue=true", officer, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert sum(pages, []) == _ordered(overdue, "due_at")
    unanswered = await _pages(client, "/v1/complaints?answered=false", officer, limit=2)
    assert sum(unanswered, []) == _ordered([c for c in stored if c.answered_at is None],
                                           "received_at")
    answered = await _pages(client, "/v1/complaints?answered=true&overdue=true", officer,
                            limit=2)
    assert answered == [[]]


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/complaints"])
async def test_a_cursor_from_a_list_in_another_order_is_refused(client, auth, app, officer,
                                                                inspection_engine, path):
    now = utcnow()
    customer_id = (await _customers(client, auth, 1))[0]
    if path == "/v1/requests":
        await _store_requests(app, [
            {"customer_id": customer_id, "type": t, "state": "verified",
             "received_at": now - n * DAY, "due_at": now - n * DAY}
            for n, t in enumerate(["access", "correction", "deletion"], start=1)])
    else:
        await _store_complaints(client, auth, inspection_engine, customer_id, [
            (now - n * DAY, now - n * DAY, None) for n in (1, 2, 3)])
    by_receipt = await client.get(path, params={"limit": 1}, headers=officer)
    by_due_date = await client.get(path, params={"limit": 1, "overdue": "true"},
                                   headers=officer)

    for cursor, overdue in ((by_receipt.json()["next_cursor"], "true"),
                            (by_due_date.json()["next_cursor"], "false")):
        refused = await client.get(path, params={"cursor": cursor, "overdue": overdue},
                                   headers=officer)
        assert refused.status_code == 400
        assert refused.json()["code"] == "cursor_order_mismatch"
    legacy = "WyIyMDI2LTExLTI5VDEwOjAwOjAwKzAwOjAwIiwgIngiXQ"  # [time, id]: before the order
    assert (await client.get(path, params={"cursor": legacy}, headers=officer)
            ).json()["code"] == "invalid_cursor"
