"""Verification guards in the database: refuse while locked, count wrong codes, throttle code
mails, and list lockouts for the privacy officer."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gate
from app.access.callers import Reader, Writer
from app.core.db import utcnow
from app.core.security import Actor
from app.policy.purposes import Resource
from app.requests import guard as limits_of
from app.requests.errors import VerificationLocked
from app.requests.guard import Limits
from app.requests.models import GuardScope, VerificationGuard
from app.requests.readers import LOCKOUTS

LOCKED = {GuardScope.CUSTOMER: "Too many wrong codes for this customer",
          GuardScope.ACTOR: "Too many wrong codes from this caller"}


def _keys(customer_id: str, actor: Actor) -> dict[GuardScope, tuple[str, dict[str, str]]]:
    return {GuardScope.CUSTOMER: (f"customer:{customer_id}", {"customer_id": customer_id}),
            GuardScope.ACTOR: (f"actor:{actor.role}:{actor.sub}",
                               {"actor_role": str(actor.role), "actor_id": actor.sub})}


async def _find(session: AsyncSession, key: str, *, lock: bool) -> VerificationGuard | None:
    stmt = select(VerificationGuard).where(VerificationGuard.key == key)
    if lock:
        stmt = stmt.with_for_update()
    guard: VerificationGuard | None = await session.scalar(
        stmt.execution_options(populate_existing=True))
    return guard


async def _locked_guard(session: AsyncSession, scope: GuardScope, key: str,
                        ident: dict[str, str]) -> VerificationGuard:
    """The guard row, created if missing, locked until the transaction ends."""
    guard = await _find(session, key, lock=True)
    if guard is not None:
        return guard
    try:
        async with session.begin_nested():
            guard = VerificationGuard(key=key, scope=scope, failures=0, lockouts=0, **ident)
            session.add(guard)
    except IntegrityError:  # created meanwhile by a parallel request
        guard = await _find(session, key, lock=True)
    assert guard is not None
    return guard


async def ensure_unlocked(caller: Writer, customer_id: str, now: datetime) -> None:
    """Raise `VerificationLocked` while the customer or the caller is locked."""
    for scope, (key, _) in _keys(customer_id, caller.actor).items():
        guard = await _find(caller.session, key, lock=False)
        wait = limits_of.locked_for(guard, now) if guard else None
        if wait is not None:
            raise VerificationLocked(f"{LOCKED[scope]}; codes are neither checked nor sent "
                                     "until the lockout ends.", retry_after=wait)


async def count_failure(caller: Writer, customer_id: str, limits: Limits, now: datetime
                        ) -> VerificationLocked | None:
    """Count a wrong code for the customer and the caller; the lockout it earned, if any,
    audited."""
    locked = None
    for scope, (key, ident) in _keys(customer_id, caller.actor).items():
        guard = await _locked_guard(caller.session, scope, key, ident)
        if limits_of.count_failure(guard, now, limits):
            await caller.session.flush()
            await gate.record_write(caller, Resource.LOCKOUT, "lock_verification",
                                    subject_id=customer_id, resource_id=guard.id,
                                    fields=["locked_until"])
            assert guard.locked_until is not None
            locked = locked or VerificationLocked(
                f"{LOCKED[scope]}; try again after the lockout.",
                retry_after=guard.locked_until - now)
    await caller.session.flush()
    return locked


async def before_mailing_code(caller: Writer, customer_id: str, limits: Limits,
                              now: datetime) -> None:
    """Allow one code mail to the customer now, or raise `VerificationLocked` (locked, or a
    code was mailed within the resend window)."""
    await ensure_unlocked(caller, customer_id, now)
    key, ident = _keys(customer_id, caller.actor)[GuardScope.CUSTOMER]
    guard = await _locked_guard(caller.session, GuardScope.CUSTOMER, key, ident)
    wait = limits_of.resend_wait(guard, now, limits)
    if wait is not None:
        raise VerificationLocked("A code was mailed to this customer moments ago; use it, or "
                                 "file again later.", retry_after=wait,
                                 code="verification_code_recently_sent")
    guard.code_sent_at = now
    await caller.session.flush()


async def list_lockouts(caller: Reader, *, current: bool, cursor: str | None, limit: int
                        ) -> dict[str, Any]:
    """Customers and callers that were locked out, by the time of their latest lockout."""
    stmt = select(VerificationGuard).where(VerificationGuard.locked_at.is_not(None))
    if current:
        stmt = stmt.where(VerificationGuard.locked_until > utcnow())
    return await gate.read_page(caller, LOCKOUTS, stmt,
                                order=(VerificationGuard.locked_at, VerificationGuard.id),
                                cursor=cursor, limit=limit)
