"""Legal disclosures: record, tell the customer now or when the bar ends, list and search.

Every step is audited. Until the customer is told, entries name no subject (only the
disclosure id), so nothing about it shows in the customer's access log; telling the customer
records the disclosure against them, and from then on it is in their log and export.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.projection import Projection
from app.core.crypto import Keys
from app.core.db import utcnow
from app.core.security import Actor
from app.disclosures import repository
from app.disclosures.models import LegalDisclosure
from app.disclosures.readers import DISCLOSURES
from app.disclosures.schemas import DisclosureCreate, DisclosureReceipt
from app.identity import public as identity
from app.outbox.service import enqueue
from app.policy.purposes import Resource
from app.policy.roles import Role

logger = logging.getLogger(__name__)

KIND = "legal_disclosure"
RECORDED = ["authority", "legal_basis", "reference", "fields", "disclosed_at", "notify_after"]


def _letter(row: LegalDisclosure) -> tuple[str, str]:
    return ("We disclosed some of your data to an authority",
            f"On {row.disclosed_at:%Y-%m-%d} we disclosed the following data about you to "
            f"{row.authority}: {', '.join(row.fields)}. Legal basis: {row.legal_basis}. "
            f"Their reference: {row.reference}. You can see this disclosure in your account's "
            "access log and data export.")


async def tell_customer(session: AsyncSession, keys: Keys, row: LegalDisclosure, *,
                        actor: Actor, now: datetime) -> None:
    """Email the customer (if an email is on file) and record the disclosure against them."""
    email, _ = await identity.contact_of(session, keys, row.customer_id)
    if email is not None:
        subject, body = _letter(row)
        await enqueue(session, keys, kind=KIND, to=email, subject=subject, body=body,
                      customer_id=row.customer_id)
    row.notified_at = now
    await session.flush()
    writer = Writer(session, actor, keys)
    await gate.record_write(writer, Resource.DISCLOSURE, "disclose", subject_id=row.customer_id,
                            resource_id=row.id, fields=row.fields)
    await gate.record_write(writer, Resource.CUSTOMER, "notify", subject_id=row.customer_id,
                            resource_id=row.id, fields=["email"] if email else [])


async def record(caller: Writer, payload: DisclosureCreate) -> DisclosureReceipt:
    """Record a disclosure; tell the customer at once unless a bar lasts beyond today."""
    await identity.ensure_visible(caller, payload.customer_id)
    now = utcnow()
    row = LegalDisclosure(**payload.model_dump(exclude={"disclosed_at"}),
                          disclosed_at=payload.disclosed_at or now,
                          recorded_by=caller.actor.sub, created_at=now)
    caller.session.add(row)
    await caller.session.flush()
    await gate.record_write(caller, Resource.DISCLOSURE, "create", subject_id=None,
                            resource_id=row.id, fields=RECORDED)
    if row.notify_after is None or row.notify_after <= now.date():
        await tell_customer(caller.session, caller.keys, row, actor=caller.actor, now=now)
    return DisclosureReceipt(id=row.id, fields=RECORDED, at=now,
                             notified=row.notified_at is not None)


async def read(caller: Reader, disclosure_id: str) -> Projection:
    """One disclosure, through the gate."""
    return await gate.read_one(caller, DISCLOSURES, repository.one(disclosure_id))


async def search(caller: Reader, *, customer_id: str | None, authority: str | None,
                 disclosed_from: datetime | None, disclosed_to: datetime | None,
                 cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of disclosures, newest first, filtered."""
    stmt = repository.searched(customer_id=customer_id, authority=authority,
                               disclosed_from=disclosed_from, disclosed_to=disclosed_to)
    return await gate.read_page(caller, DISCLOSURES, stmt,
                                order=(LegalDisclosure.disclosed_at, LegalDisclosure.id),
                                cursor=cursor, limit=limit, descending=True)


JOB = Actor(sub="disclosure-notifier", role=Role.PRIVACY_OFFICER)


async def notify_due(sessions: async_sessionmaker[AsyncSession], keys: Keys, *,
                     now: Callable[[], datetime] = utcnow, batch: int = 100) -> int:
    """Tell customers of every disclosure whose bar has ended; return how many were told."""
    told = 0
    while True:
        at = now()
        async with sessions() as session, session.begin():
            rows = await repository.claim_due(session, at.date(), batch)
            for row in rows:
                await tell_customer(session, keys, row, actor=JOB, now=at)
        told += len(rows)
        if len(rows) < batch:
            return told


async def notify_due_forever(sessions: async_sessionmaker[AsyncSession], keys: Keys, *,
                             interval: float) -> None:
    """Tell customers of disclosures whose bar ended, every `interval` seconds until cancelled."""
    while True:
        try:
            told = await notify_due(sessions, keys)
            if told:
                logger.info("told %d customers of legal disclosures", told)
        except Exception as exc:  # keep going after a transient database error
            logger.warning("disclosure notices failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
