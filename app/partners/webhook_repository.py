"""Partner webhook queries: claim due notices under a lease, record how sending went."""

from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.partners.models import PartnerWebhook, WebhookEvent

ERROR_LENGTH = 100


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def claim_due(session: AsyncSession, *, due_by: datetime, now: datetime,
                    until: datetime, limit: int) -> list[PartnerWebhook]:
    """Lease up to `limit` pending notices due by `due_by` whose lease is free at `now`."""
    stmt = (select(PartnerWebhook)
            .where(PartnerWebhook.sent_at.is_(None), PartnerWebhook.failed_at.is_(None),
                   PartnerWebhook.next_attempt_at <= due_by,
                   or_(PartnerWebhook.claimed_until.is_(None),
                       PartnerWebhook.claimed_until <= now))
            .order_by(PartnerWebhook.next_attempt_at, PartnerWebhook.id)
            .limit(limit))
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.scalars(stmt)).all())
    for row in rows:
        row.claimed_until = until
    await session.flush()
    return rows


async def mark_sent(session: AsyncSession, webhook_id: str, *, at: datetime) -> None:
    """Record a delivery (once)."""
    await session.execute(update(PartnerWebhook).where(
        PartnerWebhook.id == webhook_id, PartnerWebhook.sent_at.is_(None))
        .values(sent_at=at, claimed_until=None, last_error=None))


async def mark_attempt_failed(session: AsyncSession, webhook_id: str, *, at: datetime,
                              error: str, max_attempts: int, backoff) -> PartnerWebhook | None:
    """Count a failed attempt: retry after `backoff(attempts)`, or give up at `max_attempts`."""
    stmt = select(PartnerWebhook).where(PartnerWebhook.id == webhook_id,
                                        PartnerWebhook.sent_at.is_(None),
                                        PartnerWebhook.failed_at.is_(None))
    if _is_postgres(session):
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        return None
    row.attempts += 1
    row.last_error = error[:ERROR_LENGTH]
    row.claimed_until = None
    if row.attempts >= max_attempts:
        row.failed_at = at
    else:
        row.next_attempt_at = at + backoff(row.attempts)
    await session.flush()
    return row


async def release(session: AsyncSession, webhook_ids: list[str]) -> None:
    """Give back leases of notices that were claimed but not tried."""
    if webhook_ids:
        await session.execute(update(PartnerWebhook).where(
            PartnerWebhook.id.in_(webhook_ids), PartnerWebhook.sent_at.is_(None))
            .values(claimed_until=None))


def destructions(*, unconfirmed_before: datetime | None) -> Select[PartnerWebhook]:
    """Destruction requests; with a time, only those unconfirmed and requested before it."""
    stmt = select(PartnerWebhook).where(PartnerWebhook.event == WebhookEvent.DESTROY)
    if unconfirmed_before is not None:
        stmt = stmt.where(PartnerWebhook.confirmed_at.is_(None),
                          PartnerWebhook.created_at < unconfirmed_before)
    return stmt


async def confirm_destruction(session: AsyncSession, *, partner_id: str, order_number: str,
                              at: datetime) -> None:
    """Record a carrier's confirmation on its destruction requests for an order."""
    await session.execute(update(PartnerWebhook).where(
        PartnerWebhook.partner_id == partner_id, PartnerWebhook.order_number == order_number,
        PartnerWebhook.event == WebhookEvent.DESTROY, PartnerWebhook.confirmed_at.is_(None))
        .values(confirmed_at=at))


async def notice_of(session: AsyncSession, *, partner_id: str, notice_id: str
                    ) -> PartnerWebhook | None:
    """One notice addressed to this partner."""
    row: PartnerWebhook | None = await session.scalar(select(PartnerWebhook).where(
        PartnerWebhook.id == notice_id, PartnerWebhook.partner_id == partner_id))
    return row
