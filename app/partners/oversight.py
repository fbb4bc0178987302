"""Destruction oversight for the privacy officer, and partners confirming notices."""

from datetime import timedelta
from typing import Any

from app.access import gate
from app.access.callers import Writer
from app.core.db import utcnow
from app.core.pagination import fetch_page
from app.partners import webhook_repository as webhooks
from app.partners.errors import NoticeNotFound
from app.partners.models import PartnerWebhook, WebhookEvent
from app.partners.schemas import Destruction, NoticeConfirmation
from app.requests import public as requests


async def destructions(caller: Writer, *, unconfirmed_for: timedelta | None,
                       cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of destruction requests; only overdue unconfirmed ones with `unconfirmed_for`."""
    before = utcnow() - unconfirmed_for if unconfirmed_for is not None else None
    rows, following = await fetch_page(
        caller.session, webhooks.destructions(unconfirmed_before=before),
        PartnerWebhook.created_at, PartnerWebhook.id, cursor=cursor, limit=limit)
    items = [Destruction(id=w.id, partner_id=w.partner_id, order_number=w.order_number,
                         requested_at=w.created_at, sent_at=w.sent_at, attempts=w.attempts,
                         confirmed_at=w.confirmed_at) for w in rows]
    return {"items": items, "next_cursor": following}


async def confirm_notice(caller: Writer, notice_id: str) -> NoticeConfirmation:
    """Record the partner's confirmation of an erasure or correction notice (idempotent)."""
    notice = await webhooks.notice_of(caller.session, partner_id=caller.actor.partner_id or "",
                                      notice_id=notice_id)
    if notice is None or notice.event == WebhookEvent.DESTROY:
        raise NoticeNotFound()
    if notice.confirmed_at is None:
        notice.confirmed_at = utcnow()
        await caller.session.flush()
        await gate.record_write(caller, "partner_notice", "confirm", subject_id=None,
                                resource_id=notice.id, fields=["confirmed_at"])
        if notice.request_id is not None:
            await requests.note_confirmation(caller.session, notice.request_id,
                                             notice.partner_id)
    return NoticeConfirmation(id=notice.id, event=notice.event, confirmed_at=notice.confirmed_at)
