"""Policy use cases: publish with a notice period, withdraw before it takes effect, read,
follow the notices, record what a customer saw or accepted."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gate
from app.access.callers import Writer
from app.core.db import utcnow
from app.identity import public as identity
from app.policies import repository
from app.policies.errors import (
    NoticePeriodTooShort,
    NoUpcomingPolicy,
    PolicyAlreadyEffective,
    PolicyVersionNotFound,
    PolicyWithdrawn,
)
from app.policies.models import PolicyAcceptance, PolicyVersion
from app.policies.schemas import AcceptanceCreate, PolicyVersionCreate
from app.policy.purposes import Resource

NOTICE_PERIOD = timedelta(days=7)


async def publish(caller: Writer, payload: PolicyVersionCreate, *, now: datetime | None = None
                  ) -> PolicyVersion:
    """Publish the next version; it must take effect at least 7 days from now.

    Raises `NoticePeriodTooShort` (422) or `PolicyVersionTaken` (409, a concurrent publish).
    """
    published_at = now or utcnow()
    if payload.effective_at < published_at + NOTICE_PERIOD:
        raise NoticePeriodTooShort(
            "A new version takes effect at least 7 days after it is published: on or after "
            f"{(published_at + NOTICE_PERIOD).isoformat()}.")
    number = await repository.latest_number(caller.session) + 1
    return await repository.add(caller.session, PolicyVersion(
        version=number, label=payload.label, text=payload.text, summary=payload.summary,
        significant=payload.significant, published_at=published_at,
        effective_at=payload.effective_at, published_by=caller.actor.sub))


async def get(session: AsyncSession, version: int) -> PolicyVersion:
    """One published version; `PolicyVersionNotFound` if there is none by that number."""
    policy = await repository.get(session, version)
    if policy is None:
        raise PolicyVersionNotFound(f"There is no policy version {version}.")
    return policy


async def withdraw(caller: Writer, version: int, *, now: datetime | None = None
                   ) -> PolicyVersion:
    """Withdraw a scheduled version and drop its unsent notices.

    Raises `PolicyAlreadyEffective` once it took effect, `PolicyWithdrawn` if withdrawn.
    """
    at = now or utcnow()
    policy = await get(caller.session, version)
    if policy.withdrawn_at is not None:
        raise PolicyWithdrawn(f"Version {version} was already withdrawn.")
    if policy.effective_at <= at:
        raise PolicyAlreadyEffective(f"Version {version} took effect on "
                                     f"{policy.effective_at.isoformat()}; publish a new one.")
    if not await repository.withdraw(caller.session, version, at=at):  # a parallel one won
        raise PolicyWithdrawn(f"Version {version} was already withdrawn.")
    await caller.session.refresh(policy)
    return policy


async def current(session: AsyncSession, *, now: datetime | None = None) -> PolicyVersion:
    """The version in effect now."""
    policy = await repository.current(session, now or utcnow())
    if policy is None:
        raise PolicyVersionNotFound("No policy version is in effect.")
    return policy


async def upcoming(session: AsyncSession, *, now: datetime | None = None) -> PolicyVersion:
    """The next scheduled version; `NoUpcomingPolicy` if none is scheduled."""
    policy = await repository.upcoming(session, now or utcnow())
    if policy is None:
        raise NoUpcomingPolicy("No new policy version is scheduled.")
    return policy


async def history(session: AsyncSession, *, cursor: str | None, limit: int) -> dict:
    """A page of every published version, newest first."""
    items, next_cursor = await repository.history(session, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


async def progress(session: AsyncSession, version: int) -> dict:
    """Counts of the notices of a version: queued, sent, pending, failed, remaining."""
    policy = await get(session, version)
    counts = await repository.notice_counts(session, version)
    return {"version": version, "significant": policy.significant,
            "complete": policy.notices_done_at is not None,
            "completed_at": policy.notices_done_at, **counts,
            "remaining": await repository.remaining(session, version)
            if policy.significant else 0}


async def record_acceptance(caller: Writer, customer_id: str, payload: AcceptanceCreate
                            ) -> tuple[PolicyAcceptance, bool]:
    """Record that a customer saw or accepted a version; the first record of a kind stays.

    Returns the record and whether it is new. Raises `CustomerNotFound` for a customer the
    caller may not act for, `PolicyVersionNotFound`, or `PolicyWithdrawn`.
    """
    await identity.ensure_visible(caller, customer_id)
    policy = await get(caller.session, payload.version)
    if policy.withdrawn_at is not None:
        raise PolicyWithdrawn(f"Version {payload.version} was withdrawn.")
    existing = await repository.find_acceptance(caller.session, customer_id=customer_id,
                                                version=payload.version, kind=payload.kind)
    if existing is not None:
        return existing, False
    acceptance = PolicyAcceptance(customer_id=customer_id, version=payload.version,
                                  kind=payload.kind.value, recorded_at=utcnow(),
                                  recorded_by_role=str(caller.actor.role))
    await repository.add_acceptance(caller.session, acceptance)
    await gate.record_write(caller, Resource.CUSTOMER, str(payload.kind),
                            subject_id=customer_id, resource_id=f"policy:{payload.version}",
                            fields=["policy_acceptance"])
    return acceptance, True
