"""Putting signed notices to partners in the outbox, in the transaction of the change."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import new_id, utcnow
from app.partners import webhook_repository as webhooks
from app.partners.models import PartnerWebhook, WebhookEvent


def _body(webhook_id: str, event: WebhookEvent, at: datetime, order_numbers: Sequence[str],
          confirm: str) -> str:
    payload: dict[str, Any] = {"id": webhook_id, "event": str(event),
                               "created_at": at.isoformat(), "order_numbers": list(order_numbers),
                               "confirm": {"method": "POST", "path": confirm}}
    return json.dumps(payload, separators=(",", ":"))


async def request_destruction(session: AsyncSession, *, partner_id: str, order_number: str
                              ) -> str:
    """Ask a carrier to destroy its copy of a shipment's data; return the notice id."""
    webhook_id, now = new_id(), utcnow()
    session.add(PartnerWebhook(
        id=webhook_id, partner_id=partner_id, event=WebhookEvent.DESTROY,
        order_number=order_number, order_numbers=[order_number], created_at=now,
        next_attempt_at=now, attempts=0,
        body=_body(webhook_id, WebhookEvent.DESTROY, now, [order_number],
                   f"/v1/orders/{order_number}/destruction")))
    await session.flush()
    return webhook_id


async def tell_partners(session: AsyncSession, *, event: WebhookEvent, request_id: str,
                        holdings: Mapping[str, Sequence[str]]) -> list[str]:
    """Tell each partner holding the customer's shipments of an erasure or correction."""
    ids, now = [], utcnow()
    for partner_id, numbers in sorted(holdings.items()):
        webhook_id = new_id()
        session.add(PartnerWebhook(
            id=webhook_id, partner_id=partner_id, event=event, order_numbers=sorted(numbers),
            request_id=request_id, created_at=now, next_attempt_at=now, attempts=0,
            body=_body(webhook_id, event, now, sorted(numbers),
                       f"/v1/partners/notices/{webhook_id}/confirm")))
        ids.append(webhook_id)
    await session.flush()
    return ids


async def confirm_destruction(session: AsyncSession, *, partner_id: str, order_number: str
                              ) -> None:
    """Record the carrier's confirmation on its destruction requests for this order."""
    await webhooks.confirm_destruction(session, partner_id=partner_id,
                                       order_number=order_number, at=utcnow())
