"""Writing outbox messages to a folder, a batch at a time, each file atomically and durably.

Each file is written to a temporary name, fsynced, then renamed into place; once the batch is
written the folder itself is fsynced, so the renames survive a crash too. Only then are the
messages reported sent: a file that is reported sent is complete on disk under its final name,
and a crash before that leaves at most a stray `.tmp` file and a message that is written again.

One fsync after another costs 3-5 ms a file on this project's disks (about 250 files a second);
the batch is therefore split over `WRITERS` threads, whose concurrent fsyncs the file system
commits together.
"""

import asyncio
import os
import secrets
from collections.abc import Callable, Sequence
from email.utils import format_datetime
from pathlib import Path

from app.core.db import utcnow
from app.outbox.outgoing import BatchSender, Outcomes, OutgoingMail
from app.outbox.rendering import render

WRITERS = 8


class FolderSender(BatchSender):
    """Writes each message to `<folder>/<id>.eml` for a developer to read."""

    def __init__(self, folder: Path, *, mail_from: str = "service@localhost") -> None:
        self.folder = Path(folder)
        self._from = mail_from

    async def send_many(self, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                        may_start: Callable[[], bool]) -> None:
        """Write the batch; writing the same id again replaces the file."""
        if not mails or not may_start():
            return
        date = format_datetime(utcnow())
        await write_batch(self.folder, mails, outcomes, suffix=".eml",
                          content=lambda mail: render(mail, mail_from=self._from, date=date))


async def write_batch(folder: Path, mails: Sequence[OutgoingMail], outcomes: Outcomes, *,
                      suffix: str, content: Callable[[OutgoingMail], bytes]) -> None:
    """Write each mail's `content` to `<folder>/<id><suffix>`; one outcome per mail."""
    chunks = [mails[start::WRITERS] for start in range(min(WRITERS, len(mails)))]
    try:
        await asyncio.to_thread(folder.mkdir, mode=0o700, parents=True, exist_ok=True)
        results = await asyncio.gather(*(asyncio.to_thread(_write_chunk, folder, chunk,
                                                           suffix, content)
                                         for chunk in chunks))
        await asyncio.to_thread(_sync_directory, folder)
    except OSError as exc:  # no folder, or the renames may not be durable: none counts as sent
        outcomes.update((mail.id, exc) for mail in mails)
        return
    for result in results:
        outcomes.update(result)


def _write_chunk(folder: Path, mails: Sequence[OutgoingMail], suffix: str,
                 content: Callable[[OutgoingMail], bytes]) -> Outcomes:
    outcomes: Outcomes = {}
    for mail in mails:
        try:
            _write(folder, f"{mail.id}{suffix}", content(mail))
        except Exception as exc:
            outcomes[mail.id] = exc
        else:
            outcomes[mail.id] = None
    return outcomes


def _write(folder: Path, name: str, data: bytes) -> None:
    temporary = folder / f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
