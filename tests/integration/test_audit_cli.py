"""`privacy-api audit verify | checkpoint | public-key` as an operator runs them."""

import base64

from sqlalchemy import delete, update

from app.audit.anchoring import anchor_from_settings
from app.audit.checkpoints import public_key_text
from tests.integration.audit_support import (
    ENTRY,
    cli,
    customer_with_reads,
    entries,
    seal_all,
)
from tests.integration.audit_support import execute as tamper


async def test_verify_seals_and_reports_an_intact_chain(client, auth, app, settings):
    """Pending entries are sealed first; exit 0; no checkpoint yet is pointed out."""
    await customer_with_reads(client, auth, 3)
    code, out, err = await cli(settings, "audit", "verify")
    assert code == 0, err
    assert "sealed 4 new entries" in out
    assert "audit chain intact: 4 entries checked (every entry, head at seq 4)" in out
    assert "no checkpoint yet" in out
    assert "verified 4 entries (seq 4)" in err
    assert all(e.seq is not None for e in await entries(app))


async def test_checkpoint_then_incremental_verify(client, auth, app, settings):
    """`audit checkpoint` signs the head; verify then starts from it, `--full` does not."""
    await customer_with_reads(client, auth, 3)
    code, out, err = await cli(settings, "audit", "checkpoint")
    assert code == 0, err
    assert out.startswith("checkpoint written: seq 4, chain hash ")
    assert (await cli(settings, "audit", "checkpoint"))[1].startswith("no new sealed entries")
    await customer_with_reads(client, auth, 1)
    code, out, _ = await cli(settings, "audit", "verify")
    assert code == 0
    assert "2 entries checked (from the checkpoint at seq 4, head at seq 6)" in out
    code, out, _ = await cli(settings, "audit", "verify", "--full")
    assert code == 0
    assert "6 entries checked (every entry, head at seq 6)" in out


async def test_verify_exits_non_zero_naming_each_finding(client, auth, app, settings):
    """Two edits are both named, with their kind, on stderr."""
    await customer_with_reads(client, auth, 4)
    assert await seal_all(app) == 5
    chain = await entries(app)
    await tamper(app, update(ENTRY).where(ENTRY.c.seq == 2).values(fields=["id"]),
                 update(ENTRY).where(ENTRY.c.seq == 4).values(purpose="fraud"))
    code, out, err = await cli(settings, "audit", "verify", "--no-seal", "--full")
    assert code == 1, (out, err)
    assert "audit trail BROKEN: 2 findings" in err
    assert f"edited: entry seq 2 (id {chain[1].id}) was edited" in err
    assert f"edited: entry seq 4 (id {chain[3].id}) was edited" in err
    assert "intact" not in out


async def test_verify_names_a_truncated_tail_against_the_checkpoint(client, auth, app, settings):
    """The last two entries deleted after a checkpoint."""
    await customer_with_reads(client, auth, 4)
    assert (await cli(settings, "audit", "checkpoint"))[0] == 0
    await tamper(app, delete(ENTRY).where(ENTRY.c.seq > 3))
    code, _, err = await cli(settings, "audit", "verify")
    assert code == 1
    assert "truncated: the tail was truncated: the chain ends at seq 3 but the checkpoint of" \
        in err
    assert "vouches for seq 5 (entries seq 4-5 are missing)" in err


async def test_checkpoint_refuses_a_broken_chain(client, auth, app, settings):
    """No signature over tampered entries; exit 1 naming the entry."""
    await customer_with_reads(client, auth, 2)
    await seal_all(app)
    await tamper(app, update(ENTRY).where(ENTRY.c.seq == 2).values(action="delete"))
    code, _, err = await cli(settings, "audit", "checkpoint")
    assert code == 1
    assert "checkpoint refused: the chain does not verify: entry seq 2" in err
    assert not app.state.settings.audit_checkpoint_file.exists()


async def test_public_key_prints_the_checkpoint_verification_key(app, settings):
    """The printed key is the public half of the configured signing key."""
    code, out, _ = await cli(settings, "audit", "public-key")
    assert code == 0
    expected = public_key_text(anchor_from_settings(app.state.settings).signer)
    assert out.strip() == expected and len(base64.b64decode(expected)) == 32
