"""Two replicas seal at once while requests keep writing; the background task anchors the
chain at its interval and POSTs each checkpoint."""

import asyncio
import json
from contextlib import suppress

import httpx
from sqlalchemy import func, select

from app.audit.anchoring import anchor_from_settings
from app.audit.checkpoints import parse
from app.audit.models import AuditEntry
from app.audit.sealer import seal_forever, seal_pending
from app.core.db import create_engine, session_factory
from tests.integration.audit_support import audit_key, customer_with_reads, report


async def test_two_replicas_sealing_during_writes_make_one_valid_chain(client, auth, app):
    """Each replica has its own engine and sealer; every entry is sealed exactly once."""
    replicas = [create_engine(app.state.settings) for _ in range(2)]
    stop = asyncio.Event()

    async def sealer(engine) -> int:
        sessions, total = session_factory(engine), 0
        while not stop.is_set():
            total += await seal_pending(sessions, key=audit_key(app))
            await asyncio.sleep(0.01)
        return total + await seal_pending(sessions, key=audit_key(app))

    try:
        running = [asyncio.create_task(sealer(engine)) for engine in replicas]
        for _ in range(6):
            await customer_with_reads(client, auth, 4)
        stop.set()
        sealed = await asyncio.gather(*running)
    finally:
        for engine in replicas:
            await engine.dispose()
    assert sum(sealed) == 30
    async with app.state.engine.connect() as connection:
        counts = (await connection.execute(select(
            func.count(AuditEntry.seq), func.count(func.distinct(AuditEntry.seq)),
            func.min(AuditEntry.seq), func.max(AuditEntry.seq)))).one()
    assert tuple(counts) == (30, 30, 1, 30)
    result = await report(app, full=True)
    assert (result.ok, result.checked, result.unsealed) == (True, 30, 0)


async def test_the_background_task_seals_and_posts_signed_checkpoints(client, auth, app):
    """With a checkpoint URL set, each new checkpoint is appended and POSTed."""
    posted = []

    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(201)

    anchor = anchor_from_settings(app.state.settings.model_copy(
        update={"audit_checkpoint_url": "https://notary.example/checkpoints"}))
    await customer_with_reads(client, auth, 2)
    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as http:
        task = asyncio.create_task(seal_forever(
            app.state.sessions, engine=app.state.engine, anchor=anchor, http=http,
            interval=0.02, checkpoint_interval=0.05))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if posted:
                break
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert len(posted) == 1 and posted[0]["seq"] == 3
    line = app.state.settings.audit_checkpoint_file.read_text().splitlines()[0]
    assert json.loads(line) == posted[0]
    assert parse(line, anchor.signer.public_key()).seq == 3
