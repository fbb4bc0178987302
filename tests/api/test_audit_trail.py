"""The privacy officer queries and exports the audit trail through the gate; both are audited
and never show a personal value."""

import json

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.policy.roles import Role
from tests.factories import create_customer

NAME, EMAIL = "Trail Customer", "trail.customer@example.com"


async def _reads_of(session, response) -> list[AuditEntry]:
    return list((await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read",
        AuditEntry.request_id == response.headers["x-request-id"]))).all())


async def _customer_read_by_an_agent(client, auth) -> str:
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT), name=NAME,
                                        email=EMAIL)
    read = await client.get(f"/v1/customers/{customer_id}",
                            headers=auth(Role.SUPPORT_AGENT, sub="agent-7", purpose="service"))
    assert read.status_code == 200
    return customer_id


async def test_the_officer_queries_the_trail_by_customer_actor_and_action(client, auth,
                                                                           session):
    customer_id = await _customer_read_by_an_agent(client, auth)
    officer = auth(Role.PRIVACY_OFFICER, sub="dpo", purpose="oversight")
    page = await client.get("/v1/audit/entries", headers=officer, params={
        "customer_id": customer_id, "actor_id": "agent-7", "action": "read"})
    assert page.status_code == 200, page.text
    (entry,) = page.json()["items"]
    assert (entry["actor_role"], entry["purpose"], entry["resource"]) == (
        "support_agent", "service", "customer")
    assert NAME not in page.text and EMAIL not in page.text
    (audited,) = await _reads_of(session, page)
    assert (audited.actor_id, audited.purpose, audited.resource, audited.subject_id) == (
        "dpo", "oversight", "audit_entry", customer_id)
    everything = await client.get("/v1/audit/entries", headers=officer,
                                  params={"customer_id": customer_id, "limit": 1})
    assert everything.json()["next_cursor"]


async def test_the_trail_needs_oversight_and_the_officer(client, auth):
    unnamed = await client.get("/v1/audit/entries", headers=auth(Role.PRIVACY_OFFICER))
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "purpose_required")
    agent = await client.get("/v1/audit/entries/export",
                             headers=auth(Role.SUPPORT_AGENT, purpose="oversight"))
    assert (agent.status_code, agent.json()["code"]) == (403, "role_not_permitted")
    export = await client.get("/v1/audit/entries/export", headers=auth(Role.PRIVACY_OFFICER))
    assert (export.status_code, export.json()["code"]) == (400, "purpose_required")


async def test_exports_stream_the_selection_as_json_lines_or_csv_and_are_audited(
        client, auth, session):
    customer_id = await _customer_read_by_an_agent(client, auth)
    officer = auth(Role.PRIVACY_OFFICER, sub="dpo", purpose="oversight")
    lines = await client.get("/v1/audit/entries/export", headers=officer,
                             params={"customer_id": customer_id, "format": "jsonl"})
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    entries = [json.loads(line) for line in lines.text.splitlines()]
    assert {e["action"] for e in entries} >= {"create", "read"}
    assert all(e["subject_id"] == customer_id for e in entries)
    assert NAME not in lines.text and EMAIL not in lines.text
    (audited,) = await _reads_of(session, lines)
    assert (audited.resource, audited.subject_id, audited.purpose) == (
        "audit_entry", customer_id, "oversight")
    table = await client.get("/v1/audit/entries/export", headers=officer,
                             params={"customer_id": customer_id, "format": "csv"})
    header, *rows = table.text.splitlines()
    assert header.startswith("id,occurred_at,actor_id")
    assert len(rows) == len(entries) + 1  # the JSON-lines export was audited meanwhile
