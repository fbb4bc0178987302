"""Outbox mail written directly reads back, through the email package, as what was queued."""

from email import message_from_bytes, message_from_string, policy

import pytest

from app.outbox.outgoing import OutgoingMail
from app.outbox.rendering import needs_smtputf8, render

DATE = "Sat, 28 Nov 2026 10:00:00 +0000"


def parsed(mail: OutgoingMail, mail_from: str = "Service <service@example.org>"):
    raw = render(mail, mail_from=mail_from, date=DATE)
    assert b"\r" not in raw and all(len(line) <= 998 for line in raw.split(b"\n"))
    return raw, message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize(("subject", "body", "encoding"), [
    ("Your verification code", "Your code is 831604.\n\nIt expires in 10 minutes.", "7bit"),
    ("Änderung unserer Datenschutzerklärung für Kundinnen und Kunden in Österreich",
     "Grüße aus Köln – die Änderung gilt ab 1. Januar (€0).", "quoted-printable"),
    ("A subject long enough to be folded because it runs well past seventy-eight characters",
     "x" * 2000 + "\n= trailing space \nnext\r\nline", "quoted-printable"),
    ("Tabs\tand = signs", "A line.\twith a tab\n.a leading dot\nFrom the start", "7bit"),
])
def test_rendered_mail_reads_back_as_queued(subject, body, encoding):
    mail = OutgoingMail(id="0f6a2b1e-1111-2222-3333-444455556666", to="kunde@example.org",
                        subject=subject, body=body)

    raw, message = parsed(mail, mail_from="Datenschutz Müller <privacy@example.org>")

    assert message["From"].addresses[0].display_name == "Datenschutz Müller"
    assert message["From"].addresses[0].addr_spec == "privacy@example.org"
    assert message["To"] == "kunde@example.org"
    assert message["Subject"] == subject
    assert message["Date"] == DATE
    assert message["Message-ID"] == "<0f6a2b1e-1111-2222-3333-444455556666@privacy-api>"
    assert message["Content-Transfer-Encoding"] == encoding
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "\n".join(body.splitlines()) + "\n"
    assert raw.isascii()


def test_an_internationalized_address_goes_out_as_utf8():
    mail = OutgoingMail(id="m", to="jürgen@beispiel.de", subject="Hallo", body="Text")

    raw = render(mail, mail_from="service@example.org", date=DATE)

    assert "\nTo: jürgen@beispiel.de\n".encode() in raw  # RFC 6532: the header is UTF-8
    message = message_from_string(raw.decode(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "jürgen@beispiel.de"
    assert message.get_content() == "Text\n"
    assert needs_smtputf8("service@example.org", "jürgen@beispiel.de")
    assert not needs_smtputf8("service@example.org", "kunde@example.org")
