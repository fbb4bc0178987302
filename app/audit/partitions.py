"""Monthly partitions of `audit_entry` on PostgreSQL (DDL: run with the owner role)."""

import re
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PARENT = "audit_entry"
DEFAULT_PARTITION = "audit_entry_default"
PARTITION_NAME = re.compile(r"audit_entry_(p\d{4}_\d{2}|default)")


def is_partition(name: str | None) -> bool:
    """Whether a table is one of the partitions (not part of the models' schema)."""
    return bool(name and PARTITION_NAME.fullmatch(name))


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Alembic `include_name` hook: compare the partitioned table, not its partitions."""
    return not (type_ == "table" and is_partition(name))


def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    """The partition holding the entries of `month`."""
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def bound(month: date) -> datetime:
    """Midnight UTC at the start of `month`."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


async def monthly_partitions(connection: AsyncConnection) -> list[date]:
    """The months that have a partition, oldest first."""
    names = (await connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass)"), {"parent": PARENT})).scalars()
    prefix = f"{PARENT}_p"
    return sorted(date(int(n[len(prefix):len(prefix) + 4]), int(n[-2:]), 1)
                  for n in names if n.startswith(prefix))


async def ensure_partitions(connection: AsyncConnection, months: list[date]) -> list[date]:
    """Create the partitions of `months` that are missing; rows the default partition caught
    for such a month move into it. Return the months created."""
    existing = set(await monthly_partitions(connection))
    created = []
    for month in sorted(set(months) - existing):
        name, low, high = partition_name(month), bound(month), bound(next_month(month))
        window = {"low": low, "high": high}
        caught = await connection.scalar(text(
            f"SELECT count(*) FROM {DEFAULT_PARTITION} "
            "WHERE occurred_at >= :low AND occurred_at < :high"), window)
        if caught:
            await connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING ALL)"))
            await connection.execute(text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= :low "
                f"AND occurred_at < :high RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
                window)
            await connection.execute(text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"))
        else:
            await connection.execute(text(
                f"CREATE TABLE {name} PARTITION OF {PARENT} "
                f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"))
        created.append(month)
    return created


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first`'s through `last`'s."""
    months, month = [], month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = next_month(month)
    return months
