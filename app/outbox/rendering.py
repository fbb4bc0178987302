"""The RFC 5322 bytes of an outgoing mail, written directly.

The email package's `EmailMessage` costs 2-10 ms a mail (its header registry builds a class per
header, its content manager re-parses what was set), more than the whole budget at 1,000 mails
a second. An outbox mail is always one text/plain part under a few headers, so it is written
here in tens of microseconds: ASCII headers as they are (folded past 78 characters), other text
as RFC 2047 encoded words; the body 7bit when it is printable ASCII in lines of at most 998
octets, quoted-printable otherwise. Lines end in LF (the SMTP client sends CRLF).
"""

import binascii
import re
from email.header import Header
from email.utils import formataddr, parseaddr

from app.outbox.outgoing import OutgoingMail

LINE_LIMIT = 998  # octets in a line, RFC 5322 2.1.1
FOLD_AT = 78
_NOT_7BIT = re.compile(rb"[^\t\n\x20-\x7e]")


def render(mail: OutgoingMail, *, mail_from: str, date: str) -> bytes:
    """The message as sent or filed: headers, a blank line, the encoded body."""
    lines = mail.body.encode().splitlines()
    body = b"\n".join(lines) + b"\n"
    if _NOT_7BIT.search(body) or any(len(line) > LINE_LIMIT for line in lines):
        encoding, body = "quoted-printable", binascii.b2a_qp(body)
    else:
        encoding = "7bit"
    head = "\n".join((
        _address("From", mail_from), _address("To", mail.to), _text("Subject", mail.subject),
        f"Date: {date}", f"Message-ID: {mail.message_id}", "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"', f"Content-Transfer-Encoding: {encoding}"))
    return head.encode() + b"\n\n" + body


def needs_smtputf8(envelope_from: str, to: str) -> bool:
    """Whether an envelope address is not ASCII: then the mail goes out with SMTPUTF8."""
    return not (envelope_from.isascii() and to.isascii())


def _text(name: str, value: str) -> str:
    if value.isascii() and len(name) + 2 + len(value) <= FOLD_AT:
        return f"{name}: {value}"
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: {Header(value, charset, header_name=name).encode()}"


def _address(name: str, value: str) -> str:
    if value.isascii():
        return f"{name}: {value}"
    display, address = parseaddr(value)
    if address.isascii():
        return f"{name}: {formataddr((display, address), 'utf-8')}"
    return f"{name}: {value}"  # an internationalized address, written as UTF-8 (RFC 6532)
