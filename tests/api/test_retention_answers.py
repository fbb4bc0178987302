"""The export and the deletion answer tell the periods of the retention schedule; the server
runs the job on its own."""

import asyncio
import contextlib

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.policy.roles import Role
from app.retention import job
from app.retention.schedule import SCHEDULE
from tests.api.test_deletion import _delete
from tests.api.test_requests import _code
from tests.factories import create_customer


async def test_export_lists_every_category_of_the_schedule_with_its_period(
        client, auth, app, session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    customer = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    filed = await client.post("/v1/requests", json={"customer_id": customer_id,
                                                    "type": "access"}, headers=customer)
    code = await _code(session, app.state.keys, filed.json()["id"])
    verified = await client.post(f"/v1/requests/{filed.json()['id']}/verify",
                                 json={"code": code}, headers=customer)
    assert verified.json()["state"] == "completed", verified.text

    export = await client.get(f"/v1/requests/{filed.json()['id']}/export", headers=customer)

    assert export.status_code == 200, export.text
    periods = app.state.request_rules.retention
    lines = {line["category"]: line for line in export.json()["retention"]}
    for rule in SCHEDULE:
        assert lines[str(rule.category)]["kept"].startswith(f"{periods[rule.category]} days")
        assert lines[str(rule.category)]["why"] == rule.why


async def test_deletion_answer_takes_its_dates_from_the_schedule(client, auth, app, session,
                                                                 deliver_mail):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    done = await _delete(client, auth, customer_id, app, session, deliver_mail)
    kept = {entry["category"]: entry for entry in done.json()["outcome"]["kept"]}
    periods = app.state.request_rules.retention
    assert kept["orders"]["until"].startswith(
        f"{periods['pseudonymized_orders']} days after the order was placed, then deleted")
    assert kept["this deletion request"]["until"].startswith(
        f"{periods['closed_requests']} days after the request was completed or rejected")


async def test_the_server_runs_the_job_on_its_interval(app, session):
    task = asyncio.create_task(job.run_forever(app.state.sessions,
                                               app.state.request_rules.retention,
                                               keys=app.state.keys, interval=0.05, batch=100))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            resources = (await session.scalars(select(AuditEntry.resource).where(
                AuditEntry.actor_id == "retention-job"))).all()
            await session.rollback()
            if len(resources) >= len(SCHEDULE):
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert set(resources) == {str(rule.category) for rule in SCHEDULE}
