"""Months past retention leave the database for signed JSON-lines files; verify spans both."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from app.audit.anchoring import anchor_from_settings
from app.audit.archive import ArchiveRefused, archive_before, checkpoint_file, entries_file
from app.audit.partitions import partition_name
from tests.integration.audit_support import (
    ENTRY,
    checkpoint,
    cli,
    customer_with_reads,
    entry_values,
    insert_rows,
    kinds,
    messages,
    report,
    seal_all,
)

NOW = datetime.now(UTC)
JANUARY, FEBRUARY = date(2025, 1, 1), date(2025, 2, 1)


async def _old_and_new(client, auth, app) -> None:
    """Three entries in January 2025, two in February, two now; all sealed and anchored."""
    rows = [entry_values(app, at=datetime(2025, 1, day, 12, tzinfo=UTC)) for day in (3, 9, 30)]
    rows += [entry_values(app, at=datetime(2025, 2, day, 8, tzinfo=UTC)) for day in (1, 27)]
    await insert_rows(app, rows)
    await customer_with_reads(client, auth, 1)
    assert await seal_all(app) == 7
    assert (await checkpoint(app)).seq == 7


async def _archive(app, before: date = date(2025, 3, 1), retention_days: int = 400):
    resolved = app.state.settings
    return await archive_before(app.state.engine, before=before, retention_days=retention_days,
                                directory=resolved.audit_archive_dir,
                                signer=anchor_from_settings(resolved).signer, now=NOW)


async def _count(app) -> int:
    async with app.state.engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(ENTRY))


async def test_old_months_are_exported_signed_and_dropped(client, auth, app):
    """January and February go to files with a signed checkpoint; the rest stays."""
    await _old_and_new(client, auth, app)
    assert await _archive(app) == [(JANUARY, 3), (FEBRUARY, 2)]
    assert await _count(app) == 2
    directory = app.state.settings.audit_archive_dir
    lines = [json.loads(line) for line in entries_file(directory, JANUARY).read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert {"id", "occurred_at", "entry_mac", "chain_hash", "fields"} <= set(lines[0])
    record = json.loads(checkpoint_file(directory, FEBRUARY).read_text())
    assert (record["entries"], record["first_seq"], record["last_seq"]) == (2, 4, 5)
    if app.state.engine.dialect.name == "postgresql":
        async with app.state.engine.connect() as connection:
            assert await connection.scalar(text("SELECT to_regclass(:name)"),
                                           {"name": partition_name(JANUARY)}) is None


async def test_verify_spans_archived_and_live_entries(client, auth, app):
    """Full verify walks the archive and the table as one chain."""
    await _old_and_new(client, auth, app)
    await _archive(app)
    full, incremental = await report(app, full=True), await report(app)
    assert (full.ok, full.checked) == (True, 7), messages(full)
    assert incremental.ok, messages(incremental)
    await customer_with_reads(client, auth, 1)
    await seal_all(app)
    assert (await report(app, full=True)).checked == 9


async def test_an_altered_archive_is_named(client, auth, app):
    """Editing an archived line breaks both the file's checksum and the entry's MAC."""
    await _old_and_new(client, auth, app)
    await _archive(app)
    path = entries_file(app.state.settings.audit_archive_dir, JANUARY)
    path.write_text(path.read_text().replace('"purpose":"service"', '"purpose":"fraud"', 1))
    result = await report(app, full=True)
    assert kinds(result) == ["checkpoint", "edited"]
    assert "archive audit-2025-01.jsonl was altered after it was written" in messages(result)
    assert "entry seq 1 (id " in messages(result)


async def test_a_missing_archive_month_is_named(client, auth, app):
    """Deleting an archive file leaves a gap the walk names."""
    await _old_and_new(client, auth, app)
    await _archive(app)
    directory = app.state.settings.audit_archive_dir
    entries_file(directory, FEBRUARY).unlink()
    checkpoint_file(directory, FEBRUARY).unlink()
    result = await report(app, full=True)
    assert kinds(result) == ["missing"]
    assert "entries seq 4-5 are missing" in messages(result)


async def test_months_within_retention_stay(client, auth, app):
    """With a retention reaching back past February 2025, nothing is archived."""
    await _old_and_new(client, auth, app)
    assert await _archive(app, retention_days=(NOW - datetime(2025, 1, 15, tzinfo=UTC)).days
                          ) == []
    assert await _count(app) == 7


async def test_unsealed_entries_block_the_archive(app):
    """A month is archived only once everything in it is sealed."""
    await insert_rows(app, [entry_values(app, at=datetime(2025, 1, 5, tzinfo=UTC))])
    with pytest.raises(ArchiveRefused, match="2025-01 has 1 entries not sealed yet"):
        await _archive(app)
    assert await _count(app) == 1


async def test_archive_command(client, auth, app, settings):
    """`privacy-api audit archive --before 2025-02` takes January only."""
    await _old_and_new(client, auth, app)
    code, out, err = await cli(settings, "audit", "archive", "--before", "2025-02")
    assert code == 0, err
    assert out.strip() == (f"archived 2025-01: 3 entries to "
                           f"{app.state.settings.audit_archive_dir}")
    assert await _count(app) == 4
    code, out, _ = await cli(settings, "audit", "verify", "--full")
    assert code == 0 and "7 entries checked" in out


def test_retention_cutoff_counts_whole_months():
    """A month goes only once it ended more than the retention period ago."""
    from app.audit.archive import eligible_months

    now = datetime(2026, 3, 10, tzinfo=UTC)
    months = [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert eligible_months(months, before=date(2026, 3, 1), retention_days=30, now=now) == [
        date(2025, 12, 1), date(2026, 1, 1)]
    assert eligible_months(months, before=date(2026, 1, 1), retention_days=1, now=now) == [
        date(2025, 12, 1)]
