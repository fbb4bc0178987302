"""What other domains may ask of the policies: the version in effect, and a customer's
policy records for the access export."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.policies import repository
from app.policies.readers import POLICY_RECORDS, PolicyRecord
from app.policies.schemas import PolicyRecordView


async def version_in_effect(session: AsyncSession, *, at: datetime | None = None) -> int | None:
    """The number of the version in effect at `at` (now by default), if any."""
    policy = await repository.current(session, at or utcnow())
    return policy.version if policy else None


__all__ = ["POLICY_RECORDS", "PolicyRecordView", "history_of", "records_of",
           "version_in_effect"]


def _notice_state(row) -> str:
    if row.outbox_id is None:
        return "dropped"
    if row.sent_at is not None:
        return "sent"
    return "failed" if row.failed_at is not None else "pending"


async def history_of(session: AsyncSession, customer_id: str) -> dict[str, Any]:
    """The versions a customer was notified of (when, by which channel, how delivery went)
    and the versions the customer saw or accepted (when). No contact values."""
    notices = await repository.notices_of(session, customer_id)
    acceptances = await repository.acceptances_of(session, customer_id)
    return {
        "notified": [{"version": n.version, "label": n.label, "channel": n.channel,
                      "queued_at": n.queued_at, "sent_at": n.sent_at,
                      "state": _notice_state(n)} for n in notices],
        "acknowledged": [{"version": a.version, "label": a.label, "kind": a.kind,
                          "recorded_at": a.recorded_at} for a in acceptances],
    }


def records_of(customer_id: str) -> Callable[[AsyncSession], Awaitable[list[PolicyRecord]]]:
    """A fetch of the customer's policy records, one per notice or acknowledgement, for the
    access export (read through the gate; the caller was scoped before)."""

    async def fetch(session: AsyncSession) -> list[PolicyRecord]:
        history = await history_of(session, customer_id)
        notified = [PolicyRecord(customer_id=customer_id, version=n["version"],
                                 label=n["label"], event="notified", channel=n["channel"],
                                 at=n["sent_at"] or n["queued_at"], state=n["state"])
                    for n in history["notified"]]
        acknowledged = [PolicyRecord(customer_id=customer_id, version=a["version"],
                                     label=a["label"], event=a["kind"], channel=None,
                                     at=a["recorded_at"], state=None)
                        for a in history["acknowledged"]]
        return notified + acknowledged

    return fetch
