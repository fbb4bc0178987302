"""The audit trail: one entry per read, sealed into a hash chain that exposes any tampering."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

import app as app_package
from app.audit.chain import seal, verify
from app.audit.hashing import HASHED_COLUMNS, entry_hash
from app.audit.models import AuditChainHead, AuditEntry
from app.audit.sealer import seal_pending
from app.policy.roles import Role
from tests.factories import create_address, create_customer, create_message, create_order

PROJECT_ROOT = Path(app_package.__file__).resolve().parents[1]
ENTRY = AuditEntry.__table__


async def _customer_with_reads(client, auth, reads: int) -> str:
    """Create a customer and read it `reads` times: 1 + reads audit entries."""
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    for _ in range(reads):
        response = await client.get(f"/v1/customers/{customer_id}",
                                    headers=auth(Role.SUPPORT_AGENT, purpose="service"))
        assert response.status_code == 200
    return customer_id


async def _entries(app) -> list[AuditEntry]:
    async with app.state.sessions() as session:
        return list((await session.scalars(
            select(AuditEntry).order_by(AuditEntry.seq, AuditEntry.occurred_at,
                                        AuditEntry.id))).all())


async def _verdict(app):
    async with app.state.sessions() as session:
        return await verify(session)


async def _execute(app, *statements) -> None:
    async with app.state.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


async def _seal_once(app, batch: int = 2000) -> int:
    async with app.state.sessions() as session, session.begin():
        return await seal(session, batch=batch)


async def _sealed_chain(client, auth, app, reads: int = 4) -> int:
    await _customer_with_reads(client, auth, reads)
    sealed = await seal_pending(app.state.sessions)
    assert sealed == reads + 1
    return sealed


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
    assert entry.entry_hash == entry_hash({c: getattr(entry, c) for c in HASHED_COLUMNS})


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


async def test_seal_then_verify_is_ok(client, auth, app):
    """Sealed entries are numbered 1..n in time order and the chain verifies."""
    count = await _sealed_chain(client, auth, app)
    entries = await _entries(app)
    assert len(entries) == count
    _assert_chain_order(entries)
    verdict = await _verdict(app)
    assert (verdict.ok, verdict.checked, verdict.problem) == (True, count, None)
    async with app.state.sessions() as session:
        head = await session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (count, entries[-1].chain_hash)


@pytest.mark.parametrize(("column", "value"), [
    ("fields", ["id"]),
    ("purpose", "fraud"),
    ("actor_id", "someone-else"),
    ("subject_id", "00000000-0000-0000-0000-000000000000"),
])
async def test_editing_a_sealed_entry_is_detected(client, auth, app, column, value):
    """Changing a recorded column of entry 2 makes verify fail, naming seq 2."""
    await _sealed_chain(client, auth, app)
    await _execute(app, update(ENTRY).where(ENTRY.c.seq == 2).values({column: value}))
    verdict = await _verdict(app)
    assert not verdict.ok
    assert "seq 2 " in verdict.problem
    assert verdict.checked == 1


async def test_edit_with_a_recomputed_entry_hash_breaks_the_link(client, auth, app):
    """Rewriting an entry and its own hash still fails: the chain hash no longer links."""
    await _sealed_chain(client, auth, app)
    [target] = [e for e in await _entries(app) if e.seq == 3]
    values = {c: getattr(target, c) for c in HASHED_COLUMNS} | {"purpose": "fraud"}
    await _execute(app, update(ENTRY).where(ENTRY.c.seq == 3).values(
        purpose="fraud", entry_hash=entry_hash(values)))
    verdict = await _verdict(app)
    assert not verdict.ok
    assert "seq 3 " in verdict.problem
    assert verdict.checked == 2


async def test_reordering_entries_is_detected(client, auth, app):
    """Swapping the numbers of two sealed entries makes verify fail at the first of them."""
    await _sealed_chain(client, auth, app)
    await _execute(app,
                   update(ENTRY).where(ENTRY.c.seq == 2).values(seq=-2),
                   update(ENTRY).where(ENTRY.c.seq == 3).values(seq=2),
                   update(ENTRY).where(ENTRY.c.seq == -2).values(seq=3))
    verdict = await _verdict(app)
    assert not verdict.ok
    assert "seq 2 " in verdict.problem


async def test_deleting_a_middle_entry_is_detected(client, auth, app):
    """Removing entry 3 of 5 makes verify fail, naming the missing seq 3."""
    await _sealed_chain(client, auth, app)
    await _execute(app, delete(ENTRY).where(ENTRY.c.seq == 3))
    verdict = await _verdict(app)
    assert not verdict.ok
    assert "seq 3 is missing" in verdict.problem
    assert verdict.checked == 2


async def test_deleting_the_last_entry_is_detected(client, auth, app):
    """Removing the newest sealed entry fails against the chain head."""
    count = await _sealed_chain(client, auth, app)
    await _execute(app, delete(ENTRY).where(ENTRY.c.seq == count))
    verdict = await _verdict(app)
    assert not verdict.ok
    assert f"seq {count}" in verdict.problem
    assert verdict.checked == count - 1


async def test_unsealed_entries_are_sealed_in_a_later_batch_in_order(client, auth, app):
    """New entries wait unsealed, verify reports them, and the next seal appends them."""
    first = await _sealed_chain(client, auth, app, reads=2)
    customer_id = await _customer_with_reads(client, auth, 3)
    waiting = await _verdict(app)
    assert waiting.ok and waiting.checked == first
    assert waiting.problem == "4 entries not yet sealed"

    assert await _seal_once(app, batch=3) == 3
    assert await _seal_once(app, batch=3) == 1
    assert await _seal_once(app) == 0
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert [e.subject_id for e in entries[first:]] == [customer_id] * 4
    verdict = await _verdict(app)
    assert (verdict.ok, verdict.checked, verdict.problem) == (True, first + 4, None)


async def test_two_concurrent_seals_neither_duplicate_nor_skip(client, auth, app):
    """Two seal calls on separate sessions at once seal every entry exactly once."""
    await _customer_with_reads(client, auth, 7)
    results = await asyncio.gather(_seal_once(app), _seal_once(app))
    assert sorted(results) == [0, 8]
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert len(entries) == 8 and all(e.seq is not None for e in entries)
    assert (await _verdict(app)).ok


async def test_many_concurrent_small_batch_sealers_keep_the_chain_gapless(client, auth, app):
    """Several sealers racing in small batches leave seqs 1..n with no gap or duplicate."""
    await _customer_with_reads(client, auth, 15)

    async def sealer() -> int:
        total = 0
        for _ in range(8):
            total += await _seal_once(app, batch=3)
        return total

    results = await asyncio.gather(*(sealer() for _ in range(4)))
    total = sum(results) + await seal_pending(app.state.sessions)
    assert total == 16
    entries = await _entries(app)
    _assert_chain_order(entries)
    assert len(entries) == 16
    async with app.state.sessions() as session:
        seqs = (await session.execute(
            select(func.count(AuditEntry.seq), func.count(func.distinct(AuditEntry.seq)),
                   func.max(AuditEntry.seq)))).one()
    assert tuple(seqs) == (16, 16, 16)
    assert (await _verdict(app)).ok


async def _cli_verify(settings, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_")}
    env |= {"PRIVACY_DATABASE_URL": settings.database_url,
            "PRIVACY_DATA_DIR": str(settings.data_dir)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "audit", "verify", *args, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_seals_and_reports_an_intact_chain(client, auth, app, settings):
    """`audit verify` seals pending entries and exits 0 when the chain is intact."""
    await _customer_with_reads(client, auth, 3)
    code, out, err = await _cli_verify(settings)
    assert code == 0, err
    assert "sealed 4 new entries" in out
    assert "intact: 4 entries" in out
    assert all(e.seq is not None for e in await _entries(app))


async def test_cli_names_the_first_broken_entry(client, auth, app, settings):
    """After tampering, `audit verify` exits non-zero and names the edited entry."""
    await _sealed_chain(client, auth, app)
    await _execute(app, update(ENTRY).where(ENTRY.c.seq == 2).values(fields=["id"]),
                   update(ENTRY).where(ENTRY.c.seq == 4).values(purpose="fraud"))
    code, out, err = await _cli_verify(settings)
    assert code != 0, (out, err)
    assert "seq 2 " in err
    assert "seq 4" not in err
    assert "intact" not in out


async def test_cli_reports_a_deleted_entry(client, auth, app, settings):
    """A deleted entry is named by the CLI, also in verify-only mode."""
    await _sealed_chain(client, auth, app)
    await _execute(app, delete(ENTRY).where(ENTRY.c.seq == 2))
    code, out, err = await _cli_verify(settings, "--no-seal")
    assert code != 0, (out, err)
    assert "seq 2 is missing" in err
