"""The lockout schedule on a fake clock: the fastest attacker gets no more guesses a day than
the README promises."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core.config import Settings
from app.requests.guard import count_failure, limits_from_settings, locked_for, resend_wait
from app.requests.models import GuardScope, VerificationGuard

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
DAY = timedelta(days=1)
START = datetime(2026, 11, 28, tzinfo=UTC)
LIMITS = limits_from_settings(Settings(_env_file=None))


def _guard(scope: GuardScope = GuardScope.CUSTOMER) -> VerificationGuard:
    return VerificationGuard(key="customer:c1", scope=scope, failures=0, lockouts=0)


def _attack(until: datetime, *, pause_after_lock: timedelta = timedelta(0)) -> list[datetime]:
    """Guess wrong whenever the guard allows, from START; the times of the guesses made."""
    guard, now, guesses = _guard(), START, []
    while now < until:
        wait = locked_for(guard, now)
        if wait is not None:
            now += wait + pause_after_lock
            continue
        guesses.append(now)
        count_failure(guard, now, LIMITS)
    return guesses


def _most_in_a_day(guesses: list[datetime]) -> int:
    return max(sum(1 for g in guesses if first <= g < first + DAY) for first in guesses)


def test_readme_bound_is_the_fastest_attackers_count():
    promised = int(re.search(r"at most \*\*(\d+) guesses\*\*", README).group(1))
    assert len(_attack(START + DAY)) == promised
    assert f"{promised} / 10^6 = **{promised / 10**4:.4f} %**" in README


def test_no_day_holds_more_guesses_than_promised_over_a_month():
    promised = int(re.search(r"at most \*\*(\d+) guesses\*\*", README).group(1))
    for pause in (timedelta(0), timedelta(hours=1), LIMITS.window):
        assert _most_in_a_day(_attack(START + 30 * DAY, pause_after_lock=pause)) <= promised


def test_lockouts_double_up_to_the_maximum():
    guard, now, durations = _guard(), START, []
    for _ in range(10):
        for _ in range(LIMITS.lock_after):
            count_failure(guard, now, LIMITS)
        durations.append(guard.locked_until - now)
        now = guard.locked_until
    minutes = [int(d.total_seconds() // 60) for d in durations]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440]


def test_quiet_window_forgets_wrong_codes_and_lockouts():
    guard = _guard()
    for _ in range(LIMITS.lock_after):
        count_failure(guard, START, LIMITS)
    assert guard.lockouts == 1
    later = guard.locked_until + LIMITS.window
    assert not count_failure(guard, later, LIMITS)
    assert (guard.failures, guard.lockouts) == (1, 0)


def test_a_caller_is_locked_after_its_own_threshold():
    guard = _guard(GuardScope.ACTOR)
    locks = [count_failure(guard, START, LIMITS) for _ in range(LIMITS.actor_lock_after)]
    assert locks == [False] * (LIMITS.actor_lock_after - 1) + [True]


def test_one_code_mail_per_resend_window():
    guard = _guard()
    assert resend_wait(guard, START, LIMITS) is None
    guard.code_sent_at = START
    assert resend_wait(guard, START + timedelta(seconds=10), LIMITS) == (
        LIMITS.resend - timedelta(seconds=10))
    assert resend_wait(guard, START + LIMITS.resend, LIMITS) is None
