"""aiosmtpd handler for `mail.py`: accepts every message and logs its Message-ID, one a line,
so the benchmark can check each message arrived exactly once.

Run as `python -m aiosmtpd -n -c smtp_sink.MessageIdLog LOGFILE -l 127.0.0.1:8125` from bench/.
"""

import re
from argparse import ArgumentParser

MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class MessageIdLog:
    """Answers 250 to every message and appends its Message-ID to a file."""

    def __init__(self, path: str) -> None:
        self.log = open(path, "ab", buffering=1 << 16)  # noqa: SIM115 (open while serving)

    @classmethod
    def from_cli(cls, parser: ArgumentParser, *args: str) -> "MessageIdLog":
        if len(args) != 1:
            parser.error("MessageIdLog takes the log file's path")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope) -> str:
        found = MESSAGE_ID.search(envelope.content)
        self.log.write((found.group(1) if found else b"<none>") + b"\n")
        self.log.flush()
        return "250 OK"
