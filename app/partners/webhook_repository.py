"""Partner webhook queries: claim due notices under a lease, record how sending went."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import leases
from app.partners.models import PartnerWebhook, WebhookEvent


async def claim_due(session: AsyncSession, *, due_by: datetime, now: datetime,
                    until: datetime, limit: int) -> list[PartnerWebhook]:
    """Lease up to `limit` pending notices due by `due_by` whose lease is free at `now`."""
    return await leases.claim_due(session, PartnerWebhook, due_by=due_by, now=now, until=until,
                                  limit=limit)


async def mark_sent(session: AsyncSession, webhook_id: str, *, at: datetime) -> None:
    """Record a delivery (once)."""
    await session.execute(update(PartnerWebhook).where(
        PartnerWebhook.id == webhook_id, PartnerWebhook.sent_at.is_(None))
        .values(sent_at=at, claimed_until=None, last_error=None))


async def mark_attempt_failed(session: AsyncSession, webhook_id: str, *, attempts: int,
                              at: datetime, error: str, max_attempts: int,
                              backoff: Callable[[int], timedelta]) -> leases.Failure | None:
    """Count a failed attempt (the notice had `attempts` when claimed): retry after
    `backoff(attempts)`, or give up at `max_attempts`. None if it was meanwhile sent, given up
    or tried elsewhere."""
    failures = await leases.mark_attempts_failed(
        session, PartnerWebhook, {webhook_id: (attempts, error)}, at=at,
        max_attempts=max_attempts, backoff=backoff)
    return failures[0] if failures else None


async def release(session: AsyncSession, webhook_ids: list[str]) -> None:
    """Give back leases of notices that were claimed but not tried."""
    await leases.release(session, PartnerWebhook, webhook_ids)


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
