"""Limits on guessing verification codes: wrong codes counted per customer and per caller,
lockouts that double, and at most one code mail per customer in a window. Pure functions of
a guard row and the time, so a fake clock can test the bound the README states."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.config import Settings
from app.requests.models import GuardScope, VerificationGuard

MAX_DOUBLINGS = 40  # beyond this base * 2^k exceeds any sensible maximum anyway


@dataclass(frozen=True, kw_only=True)
class Limits:
    """How many wrong codes lock, for how long, and how often a code may be mailed."""

    lock_after: int
    actor_lock_after: int
    base: timedelta
    maximum: timedelta
    window: timedelta
    resend: timedelta

    def threshold(self, scope: GuardScope) -> int:
        """Wrong codes that lock a guard of this scope."""
        return self.lock_after if scope is GuardScope.CUSTOMER else self.actor_lock_after


def limits_from_settings(settings: Settings) -> Limits:
    """The limits as configured."""
    return Limits(lock_after=settings.verification_lock_after,
                  actor_lock_after=settings.verification_actor_lock_after,
                  base=timedelta(seconds=settings.verification_lock_base_seconds),
                  maximum=timedelta(seconds=settings.verification_lock_max_seconds),
                  window=timedelta(seconds=settings.verification_lock_window_seconds),
                  resend=timedelta(seconds=settings.verification_resend_seconds))


def locked_for(guard: VerificationGuard, now: datetime) -> timedelta | None:
    """How much longer the guard is locked, or None."""
    if guard.locked_until is not None and now < guard.locked_until:
        return guard.locked_until - now
    return None


def _forget_if_quiet(guard: VerificationGuard, now: datetime, limits: Limits) -> None:
    times = [t for t in (guard.last_failure_at, guard.locked_until) if t is not None]
    if times and now - max(times) >= limits.window:
        guard.failures = guard.lockouts = 0


def count_failure(guard: VerificationGuard, now: datetime, limits: Limits) -> bool:
    """Count one wrong code; True if it locks the guard (for base * 2^k, at most maximum)."""
    _forget_if_quiet(guard, now, limits)
    guard.failures += 1
    guard.last_failure_at = now
    if guard.failures < limits.threshold(GuardScope(guard.scope)):
        return False
    duration = min(limits.base * 2 ** min(guard.lockouts, MAX_DOUBLINGS), limits.maximum)
    guard.locked_at, guard.locked_until = now, now + duration
    guard.lockouts, guard.failures = guard.lockouts + 1, 0
    return True


def resend_wait(guard: VerificationGuard, now: datetime, limits: Limits) -> timedelta | None:
    """How long until another code may be mailed to this customer, or None if it may now."""
    if guard.code_sent_at is not None and now < guard.code_sent_at + limits.resend:
        return guard.code_sent_at + limits.resend - now
    return None
