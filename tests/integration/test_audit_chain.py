"""The audit trail: one authenticated entry per read, sealed into a keyed hash chain."""

import asyncio

from sqlalchemy import func, select

from app.audit.chain import unsealed_count
from app.audit.hashing import HASHED_COLUMNS, mac_ok
from app.audit.models import AuditEntry
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order
from tests.integration.audit_support import (
    audit_key,
    customer_with_reads,
    report,
    seal_all,
    seal_once,
)
from tests.integration.audit_support import entries as _entries


def _assert_chain_order(entries: list[AuditEntry]) -> None:
    sealed = [e for e in entries if e.seq is not None]
    assert [e.seq for e in sealed] == list(range(1, len(sealed) + 1))
    keys = [(e.occurred_at, e.id) for e in sealed]
    assert keys == sorted(keys)


async def test_each_read_writes_one_entry_with_who_why_and_what(client, auth, app):
    """A read adds exactly one entry naming actor, role, purpose, subject, fields, request."""
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    before = await _entries(app)
    response = await client.get(f"/v1/customers/{customer_id}",
                                headers=auth(Role.SUPPORT_AGENT, sub="agent-7",
                                             purpose="service"))
    assert response.status_code == 200
    new = [e for e in await _entries(app) if e.id not in {b.id for b in before}]
    assert len(new) == 1
    [entry] = new
    assert (entry.actor_id, entry.actor_role, entry.purpose, entry.action) == (
        "agent-7", "support_agent", "service", "read")
    assert (entry.subject_id, entry.resource, entry.resource_id) == (
        customer_id, "customer", customer_id)
    assert sorted(entry.fields) == sorted(response.json())
    assert entry.request_id == response.headers["x-request-id"]
    assert entry.seq is None and entry.chain_hash is None
    values = {c: getattr(entry, c) for c in HASHED_COLUMNS}
    assert mac_ok(audit_key(app), values, entry.entry_mac)
    assert not mac_ok(b"another key", values, entry.entry_mac)


async def test_client_request_id_is_recorded(client, auth, app):
    """A caller's own X-Request-ID is echoed and stored on the entry."""
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    response = await client.get(
        f"/v1/customers/{customer_id}",
        headers={**auth(Role.STOREFRONT, purpose="delivery"), "X-Request-ID": "trace-4711"})
    assert response.headers["x-request-id"] == "trace-4711"
    reads = [e for e in await _entries(app) if e.action == "read"]
    assert [(e.request_id, e.purpose, e.actor_role) for e in reads] == [
        ("trace-4711", "delivery", "storefront")]
    assert sorted(reads[0].fields) == sorted(response.json())


async def test_partner_read_is_recorded_under_the_partner(client, auth, app):
    """A carrier's read is attributed to its partner id, with the order as resource."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id, logistics_partner_id="swiftship")
    response = await client.get(
        f"/v1/orders/{order_number}",
        headers=auth(Role.LOGISTICS_PARTNER, sub="driver-3", partner_id="swiftship",
                     purpose="delivery"))
    assert response.status_code == 200
    [entry] = [e for e in await _entries(app) if e.action == "read"]
    assert (entry.actor_id, entry.actor_role, entry.purpose) == (
        "swiftship", "logistics_partner", "delivery")
    assert (entry.subject_id, entry.resource, entry.resource_id) == (
        customer_id, "order", order_number)
    assert sorted(entry.fields) == sorted(response.json())
    assert entry.request_id == response.headers["x-request-id"]


async def test_list_read_writes_one_entry_per_record(client, auth, app):
    """Listing two messages records two entries sharing the request id."""
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    first = await create_message(client, headers=storefront, customer_id=customer_id)
    second = await create_message(client, headers=storefront, customer_id=customer_id)
    response = await client.get(f"/v1/customers/{customer_id}/messages",
                                headers=auth(Role.SUPPORT_AGENT, purpose="service"))
    assert response.status_code == 200
    reads = [e for e in await _entries(app) if e.action == "read"]
    assert sorted(e.resource_id for e in reads) == sorted([first, second])
    assert {e.request_id for e in reads} == {response.headers["x-request-id"]}
    assert all(e.resource == "message" and e.subject_id == customer_id for e in reads)


async def test_unsealed_entries_are_sealed_in_a_later_batch_in_order(client, auth, app):
    """New entries wait unsealed (the backlog counts them), and later seals append them."""
    await customer_with_reads(client, auth, 2)
    first = await seal_all(app)
    assert first == 3
    customer_id = await customer_with_reads(client, auth, 3)
    waiting = await report(app)
    assert waiting.ok and waiting.checked == first and waiting.unsealed == 4
    async with app.state.sessions() as session:
        assert await unsealed_count(session) == 4

    assert await seal_once(app, batch=3) == 3
    assert await seal_once(app, batch=3) == 1
    assert await seal_once(app) == 0
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert [e.subject_id for e in entries[first:]] == [customer_id] * 4
    verdict = await report(app)
    assert (verdict.ok, verdict.checked, verdict.unsealed) == (True, first + 4, 0)
    async with app.state.sessions() as session:
        assert await unsealed_count(session) == 0


async def test_two_concurrent_seals_neither_duplicate_nor_skip(client, auth, app):
    """Two seal calls on separate sessions at once seal every entry exactly once."""
    await customer_with_reads(client, auth, 7)
    results = await asyncio.gather(seal_once(app), seal_once(app))
    assert sorted(results) == [0, 8]
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert len(entries) == 8 and all(e.seq is not None for e in entries)
    assert (await report(app, full=True)).ok


async def test_many_concurrent_small_batch_sealers_keep_the_chain_gapless(client, auth, app):
    """Several sealers racing in small batches leave seqs 1..n with no gap or duplicate."""
    await customer_with_reads(client, auth, 15)

    async def sealer() -> int:
        total = 0
        for _ in range(8):
            total += await seal_once(app, batch=3)
        return total

    results = await asyncio.gather(*(sealer() for _ in range(4)))
    total = sum(results) + await seal_all(app)
    assert total == 16
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert len(entries) == 16
    async with app.state.sessions() as session:
        seqs = (await session.execute(
            select(func.count(AuditEntry.seq), func.count(func.distinct(AuditEntry.seq)),
                   func.max(AuditEntry.seq)))).one()
    assert tuple(seqs) == (16, 16, 16)
    assert (await report(app, full=True)).ok


