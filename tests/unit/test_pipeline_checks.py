"""The request pipeline's checks on their own: sliding-window counters, control characters."""

import socket
import sys
import unicodedata
import uuid

import pytest

from app.core import limits, ratelimit
from app.core.config import Settings
from app.core.ratelimit import Limit, MemoryCounters, RateLimits, RouteClass
from app.core.security import Actor
from app.policy.roles import Role

TEN_A_MINUTE = Limit(10, 60)


class Clock:
    """Stands in for the `time` module the counters read."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(6000.0)  # the start of a minute
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


async def _allowed(counters: MemoryCounters, key: str, limit: Limit, calls: int) -> int:
    return sum([await counters.hit([(key, limit)]) is None for _ in range(calls)])


async def test_the_previous_window_weighs_as_much_as_it_overlaps(clock):
    counters = MemoryCounters()
    assert await _allowed(counters, "k", TEN_A_MINUTE, 12) == 10
    clock.now += 90  # half-way through the next minute: the full one still counts 5
    assert await _allowed(counters, "k", TEN_A_MINUTE, 10) == 5
    clock.now += 60  # a minute later: 5 weigh 2.5
    assert await _allowed(counters, "k", TEN_A_MINUTE, 10) == 7
    clock.now += 120  # two windows without calls: nothing weighs
    assert await _allowed(counters, "k", TEN_A_MINUTE, 12) == 10


async def test_a_refusal_says_when_the_counter_takes_a_call_again(clock):
    counters = MemoryCounters()
    await _allowed(counters, "k", TEN_A_MINUTE, 10)
    clock.now += 90
    await _allowed(counters, "k", TEN_A_MINUTE, 5)
    position, window = await counters.hit([("k", TEN_A_MINUTE)])
    assert position == 0 and window.wait(TEN_A_MINUTE) == 6
    clock.now += 5
    assert await counters.hit([("k", TEN_A_MINUTE)]) is not None
    clock.now += 1
    assert await counters.hit([("k", TEN_A_MINUTE)]) is None


async def test_a_full_counter_stops_the_checks_after_it(clock):
    counters = MemoryCounters()
    one = Limit(1, 60)
    assert await counters.hit([("actor", one), ("address", one)]) is None
    position, window = await counters.hit([("other-actor", one), ("address", one)])
    assert position == 1 and 1 <= window.wait(one) <= 60
    position, _ = await counters.hit([("actor", one), ("third-address", one)])
    assert position == 0
    assert await counters.hit([("third-address", one)]) is None, "a refusal counts nothing"


async def test_counters_of_past_windows_are_dropped(clock, monkeypatch):
    monkeypatch.setattr(ratelimit, "MEMORY_SWEEP_KEYS", 3)
    counters = MemoryCounters()
    for key in ("a", "b", "c"):
        await counters.hit([(key, TEN_A_MINUTE)])
    clock.now += 120
    await counters.hit([("d", TEN_A_MINUTE)])
    assert set(counters._counters) == {"d"}


def _redis_answers() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
async def test_redis_counts_actor_and_address_in_one_round_trip(monkeypatch):
    limits_ = RateLimits(Settings(redis_url="redis://127.0.0.1:6379", rate_limit_reads="3/day",
                                  rate_limit_address_factor=1, rate_limit_role_factors={}))
    client = limits_._counters._redis
    sent = []
    execute = client.execute_command

    async def counted(*args, **kwargs):
        sent.append(args[0])
        return await execute(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", counted)
    actor = Actor(sub=f"agent-{uuid.uuid4()}", role=Role.SUPPORT_AGENT)
    address = str(uuid.uuid4())
    await limits_.refusal(RouteClass.READS, actor=actor, address=address)  # loads the script
    sent.clear()
    answers = [await limits_.refusal(RouteClass.READS, actor=actor, address=address)
               for _ in range(3)]
    assert answers[:2] == [None, None] and answers[2].status_code == 429
    assert sent == ["EVALSHA"] * 3
    await client.aclose()


def test_control_characters_are_exactly_unicode_category_cc():
    found = {c for c in map(chr, range(sys.maxunicode + 1))
             if limits._CONTROL_CHARACTER.search(c)}
    assert found == {c for c in map(chr, range(sys.maxunicode + 1))
                     if unicodedata.category(c) == "Cc"}
