"""Someone with the app's database credentials tampers with the trail; verify names it.

Each scenario is the attack from issue 11, made on a chain of five entries anchored by a signed
checkpoint at seq 5 (the checkpoint file lives outside the database, out of the attacker's
reach). The attacker has no audit key, so recomputed hashes are plain SHA-256.
"""

import hashlib

from sqlalchemy import delete, select, update

from app.audit.anchoring import CheckpointRefused
from app.audit.chain import REJECTED_SEQ
from app.audit.checkpoints import Checkpoint, append, to_json
from app.audit.hashing import GENESIS_HASH, HASHED_COLUMNS, legacy_entry_hash
from app.audit.models import AuditChainHead
from app.audit.verify import live_rows
from app.core.db import utcnow
from tests.integration.audit_support import (
    ENTRY,
    checkpoint,
    customer_with_reads,
    entries,
    entry_values,
    execute,
    insert_rows,
    kinds,
    messages,
    report,
    seal_all,
)


async def _anchored(client, auth, app, reads: int = 4) -> list:
    await customer_with_reads(client, auth, reads)
    assert await seal_all(app) == reads + 1
    written = await checkpoint(app)
    assert written.seq == reads + 1
    return await entries(app)


def _set_head(seq: int, chain: str):
    return update(AuditChainHead).where(AuditChainHead.id == 1).values(
        last_seq=seq, last_hash=chain)


async def _both(app):
    return await report(app), await report(app, full=True)


async def test_an_intact_chain_verifies_incrementally_and_fully(client, auth, app):
    """Incremental verify starts at the checkpoint, full walks everything; both agree."""
    await _anchored(client, auth, app)
    incremental, full = await _both(app)
    assert (incremental.ok, incremental.start_seq, incremental.checked) == (True, 5, 0)
    assert (full.ok, full.start_seq, full.checked) == (True, 0, 5)
    await customer_with_reads(client, auth, 2)
    await seal_all(app)
    incremental, full = await _both(app)
    assert (incremental.ok, incremental.checked, incremental.head_seq) == (True, 3, 8)
    assert (full.ok, full.checked, full.head_seq) == (True, 8, 8)


async def test_edit_and_chain_recomputed_with_sha256_is_named(client, auth, app):
    """Edit seq 3 and recompute its hash and every link after it: the MAC and the
    checkpoint both give it away."""
    chain = await _anchored(client, auth, app)
    previous, statements = chain[1].chain_hash, []
    for entry in chain[2:]:
        values = {c: getattr(entry, c) for c in HASHED_COLUMNS}
        if entry.seq == 3:
            values["purpose"] = "fraud"
        own = legacy_entry_hash(values) if entry.seq == 3 else entry.entry_mac
        previous = hashlib.sha256(f"{previous}{own}".encode()).hexdigest()
        statements.append(update(ENTRY).where(ENTRY.c.id == entry.id).values(
            purpose=values["purpose"], entry_mac=own, chain_hash=previous))
    await execute(app, *statements, _set_head(5, previous))
    incremental, full = await _both(app)
    assert kinds(full) == ["edited", "rewritten", "rewritten"]
    assert full.findings[0].message == (
        f"entry seq 3 (id {chain[2].id}) was edited: its MAC does not verify")
    assert "entries seq 4-5 do not link to the entry before" in messages(full)
    assert "entry seq 5 does not match the checkpoint of" in messages(full)
    assert kinds(incremental) == ["rewritten"]
    assert "entry seq 5 does not match the checkpoint of" in messages(incremental)


async def test_an_edit_after_the_checkpoint_is_named_by_both_walks(client, auth, app):
    """Entries sealed since the last checkpoint are walked by incremental verify too."""
    await _anchored(client, auth, app)
    await customer_with_reads(client, auth, 2)
    await seal_all(app)
    await execute(app, update(ENTRY).where(ENTRY.c.seq == 7).values(fields=["id"]))
    incremental, full = await _both(app)
    for result in (incremental, full):
        assert kinds(result) == ["edited"]
        assert result.findings[0].message.startswith("entry seq 7 (id ")


async def test_deleting_the_tail_and_rewinding_the_head_is_named(client, auth, app):
    """Delete seq 4-5 and set the head back to seq 3: the checkpoint still says 5."""
    chain = await _anchored(client, auth, app)
    await execute(app, delete(ENTRY).where(ENTRY.c.seq > 3), _set_head(3, chain[2].chain_hash))
    for result in await _both(app):
        assert sorted(kinds(result)) == ["rewound", "truncated"]
        assert "the head was rewound to seq 3, behind the checkpoint of" in messages(result)
        assert "the tail was truncated: the chain ends at seq 3" in messages(result)
        assert "(entries seq 4-5 are missing)" in messages(result)


async def test_deleting_the_tail_without_touching_the_head_is_named(client, auth, app):
    """Entries gone past the last one left, with the head still at 5."""
    await _anchored(client, auth, app)
    await execute(app, delete(ENTRY).where(ENTRY.c.seq == 5))
    result = await report(app, full=True)
    assert kinds(result) == ["truncated"]


async def test_wiping_the_table_and_resetting_the_head_is_named(client, auth, app):
    """An empty table and a head at zero: only the checkpoint remembers."""
    await _anchored(client, auth, app)
    await execute(app, delete(ENTRY), _set_head(0, GENESIS_HASH))
    for result in await _both(app):
        assert sorted(kinds(result)) == ["rewound", "wiped"]
        assert "the audit table was wiped: no sealed entry is left, but the checkpoint of" \
            in messages(result)


async def test_a_forged_entry_is_refused_by_the_sealer_and_named(client, auth, app):
    """A row inserted without the key (SHA-256 as its MAC) is never sealed; the chain goes
    on past it and verify names it on every run."""
    await _anchored(client, auth, app)
    forged = entry_values(app, at=utcnow(), actor_id="nobody", purpose="fraud")
    forged["entry_mac"] = legacy_entry_hash(forged)
    await insert_rows(app, [forged])
    unsealed = await report(app, full=True)
    assert kinds(unsealed) == ["forged"]
    assert f"forged entry id {forged['id']}" in messages(unsealed)
    assert "not sealed yet" in messages(unsealed)

    await customer_with_reads(client, auth, 1)
    assert await seal_all(app) == 3
    by_id = {e.id: e for e in await entries(app)}
    assert by_id[forged["id"]].seq == REJECTED_SEQ
    assert sorted(e.seq for e in by_id.values() if e.id != forged["id"]) == list(range(1, 8))
    for result in await _both(app):
        assert kinds(result) == ["forged"]
        assert f"forged entry id {forged['id']}" in messages(result)
        assert "refused by the sealer" in messages(result)
    assert (await checkpoint(app)).seq == 7  # a forged row does not stop the anchoring


async def test_pulling_a_genuine_entry_out_of_the_chain_is_named(client, auth, app):
    """Marking an authentic unsealed entry as refused, to keep it out of the chain."""
    await _anchored(client, auth, app)
    genuine = entry_values(app, at=utcnow())
    await insert_rows(app, [genuine | {"seq": REJECTED_SEQ}])
    result = await report(app)
    assert kinds(result) == ["pulled"]
    assert f"entry id {genuine['id']} was pulled out of the chain" in messages(result)


async def test_swapping_two_entries_numbers_is_named_as_a_reordering(client, auth, app):
    """seq 2 and 3 trade numbers (each keeps its chain hash)."""
    chain = await _anchored(client, auth, app)
    await execute(app, update(ENTRY).where(ENTRY.c.id == chain[1].id).values(seq=3),
                  update(ENTRY).where(ENTRY.c.id == chain[2].id).values(seq=2))
    result = await report(app, full=True)
    assert kinds(result) == ["reordered"]
    assert result.findings[0].message == (
        f"entries seq 2 and seq 3 were reordered (ids {chain[2].id} and {chain[1].id} swapped "
        "places in the chain)")


async def test_swapping_two_entries_places_is_named_as_a_reordering(client, auth, app):
    """seq 2 and 3 trade numbers and chain hashes: their contents swapped places."""
    chain = await _anchored(client, auth, app)
    second, third = chain[1], chain[2]
    await execute(app, update(ENTRY).where(ENTRY.c.id == second.id).values(
                      seq=3, chain_hash=third.chain_hash),
                  update(ENTRY).where(ENTRY.c.id == third.id).values(
                      seq=2, chain_hash=second.chain_hash))
    result = await report(app, full=True)
    assert kinds(result) == ["reordered"]
    assert "entries seq 2 and seq 3 were reordered" in messages(result)


async def test_deleting_a_middle_entry_is_named(client, auth, app):
    """seq 3 of 5 deleted."""
    await _anchored(client, auth, app)
    await execute(app, delete(ENTRY).where(ENTRY.c.seq == 3))
    result = await report(app, full=True)
    assert kinds(result) == ["missing"]
    assert result.findings[0].message.startswith(
        "entry seq 3 is missing (deleted) before entry seq 4")


async def test_a_duplicated_number_is_named(client, auth, app):
    """seq 4 renumbered to 3: 3 is taken twice and 4 is missing."""
    await _anchored(client, auth, app)
    await execute(app, update(ENTRY).where(ENTRY.c.seq == 4).values(seq=3))
    result = await report(app, full=True)
    assert "duplicate" in kinds(result) and "missing" in kinds(result)
    assert "seq 3 is taken twice" in messages(result)


async def test_the_walk_reads_in_keyset_batches(client, auth, app):
    """Batches of two still yield every sealed entry once, in order."""
    await _anchored(client, auth, app)
    async with app.state.engine.connect() as connection:
        seqs = [row["seq"] async for row in live_rows(connection, after=1, upto=5, batch=2)]
    assert seqs == [2, 3, 4, 5]


async def test_an_untrusted_checkpoint_line_is_named_and_skipped(client, auth, app):
    """A line signed with another key is reported; the last good one is used."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    await _anchored(client, auth, app)
    fake = Checkpoint(2, "f" * 64, utcnow())
    append(app.state.settings.audit_checkpoint_file, to_json(fake, Ed25519PrivateKey.generate()))
    for result in await _both(app):
        assert kinds(result) == ["checkpoint"]
        assert "its signature does not verify" in messages(result)
    assert (await report(app)).start_seq == 5


async def test_no_checkpoint_is_signed_over_a_broken_chain(client, auth, app):
    """The checkpoint writer verifies first and refuses to vouch for a tampered chain."""
    await _anchored(client, auth, app)
    await customer_with_reads(client, auth, 1)
    await seal_all(app)
    await execute(app, update(ENTRY).where(ENTRY.c.seq == 6).values(action="update"))
    before = app.state.settings.audit_checkpoint_file.read_text()
    try:
        await checkpoint(app)
    except CheckpointRefused as exc:
        assert "entry seq 6" in exc.detail
    else:
        raise AssertionError("a checkpoint was signed over a broken chain")
    assert app.state.settings.audit_checkpoint_file.read_text() == before


async def test_a_checkpoint_is_written_only_when_the_chain_grew(client, auth, app):
    """Nothing new sealed: no new line."""
    await _anchored(client, auth, app)
    assert await checkpoint(app) is None
    lines = app.state.settings.audit_checkpoint_file.read_text().splitlines()
    assert len(lines) == 1
    async with app.state.engine.connect() as connection:
        head = (await connection.execute(select(AuditChainHead.last_hash))).scalar_one()
    assert f'"chain_hash":"{head}"' in lines[0]
