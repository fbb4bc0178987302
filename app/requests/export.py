"""The access export: everything held about a customer, assembled from each domain's public
face, read through the gate for the caller's purpose and streamed as one JSON document.

The document is the `AccessExport` schema, byte for byte as a whole response would carry it,
written section by section: each section's records are read in keyset pages of `CHUNK`, each
page read, projected and audited through the gate in its own short transaction, committed
before its bytes are sent. So memory stays flat however long the customer's history is, and
whatever was sent was audited, even if the client goes away midway. The identity is read in the
request's own transaction, before the first byte, so refusals are ordinary problem responses;
every page checks again that the customer may be read, so a deletion meanwhile stops the export.

If reading fails midway, the failure is logged (the request ids, the section, how many records
went out and the error's type, never a value) and the stream stops without its end: the client
sees the connection close before the document is complete (not valid JSON), and may ask again.
"""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import gate
from app.access.callers import Reader
from app.access.errors import PurposeNotPermitted
from app.access.projection import Projection
from app.access.sources import Records, Source
from app.addresses import public as addresses
from app.audit import public as audit
from app.complaints import public as complaints
from app.consents import public as consents
from app.disclosures import public as disclosures
from app.identity import public as identity
from app.messages import public as messages
from app.orders import public as orders
from app.policies import public as policies
from app.policy.purposes import Resource
from app.requests.schemas import AccessExport
from app.retention import public as retention_schedule

logger = logging.getLogger(__name__)

CHUNK = 500
"""Records read, audited and sent per transaction."""

SECTIONS: tuple[tuple[str, Source, Callable[[str], Records | gate.Fetch]], ...] = (
    ("addresses", addresses.ADDRESSES, addresses.records_of),
    ("orders", orders.ORDERS, orders.records_of),
    ("messages", messages.MESSAGES, messages.records_of),
    ("complaints", complaints.COMPLAINTS, complaints.records_of),
    ("consents", consents.CONSENTS, consents.records_of),
    ("access_log", audit.ACCESS_LOG, audit.records_of),
    ("disclosures", disclosures.DISCLOSURES, disclosures.records_of),
    ("policies", policies.POLICY_RECORDS, policies.records_of),
)
"""Export sections after identity, in the schema's order; a section the purpose does not
cover is left out. Records are read page by page, a fetch (a few standings) at once."""

SHAPES: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(cast(Any, field.annotation))
                                       for name, field in AccessExport.model_fields.items()}
"""Each section's schema, so every part is validated and written as the whole would be."""


def _json(section: str, value: Any) -> bytes:
    shape = SHAPES[section]
    return shape.dump_json(shape.validate_python(value), exclude_unset=True, by_alias=True)


def retention(periods: retention_schedule.Periods) -> list[dict[str, str]]:
    """What is kept, for how long and why (no personal data), from the retention schedule."""
    return [
        {"category": "identity, addresses, messages, complaints, consents",
         "kept": "while you use our services; deleted on request within 7 business days",
         "why": "to deliver orders and answer customer service"},
        *({"category": str(rule.category), "what": rule.what,
           "kept": retention_schedule.kept_for(rule, periods[rule.category]), "why": rule.why}
          for rule in retention_schedule.SCHEDULE),
        {"category": "access log", "kept": "as long as the data it describes",
         "why": "the policy promises every use of personal data is traceable; it holds "
                "who read what and why, never the values"},
    ]


async def _pages(caller: Reader, source: Source, records: Records | gate.Fetch,
                 customer_id: str, sessions: async_sessionmaker[AsyncSession]
                 ) -> AsyncIterator[list[Projection]]:
    """The section's records, one gate read (and its audit) per committed transaction; a
    customer deleted meanwhile stops the export (`CustomerNotFound`)."""
    cursor: str | None = None
    while True:
        async with sessions() as session, session.begin():
            reader = replace(caller, session=session)
            await identity.ensure_visible(reader, customer_id)
            if isinstance(records, Records):
                page = await gate.read_page(reader, source, records.statement,
                                            order=records.order, cursor=cursor, limit=CHUNK,
                                            subject_id=customer_id)
                items, cursor = page["items"], page["next_cursor"]
            else:
                items = await gate.read_all(reader, source, records, subject_id=customer_id)
        yield items  # committed: what is sent was audited
        if cursor is None:
            return


async def stream(caller: Reader, customer_id: str, *,
                 sessions: async_sessionmaker[AsyncSession], periods: retention_schedule.Periods,
                 request_id: str) -> AsyncIterator[bytes]:
    """The export document for the caller's purpose: the identity is read (and audited) in
    the caller's transaction now; the iterator reads and writes every other section."""
    if not gate.covers(caller, Resource.CUSTOMER):
        raise PurposeNotPermitted(f"The {caller.purpose} purpose does not cover an export.")
    found = await gate.read_all(caller, identity.CUSTOMERS, identity.record_of(customer_id),
                                subject_id=customer_id)
    head = b'{"identity":' + _json("identity", found[0] if found else None)
    sections = [s for s in SECTIONS if gate.covers(caller, s[1].resource)]

    async def document() -> AsyncIterator[bytes]:
        yield head
        name, sent = "identity", 1
        try:
            for name, source, records_of in sections:
                yield b',"' + name.encode() + b'":['
                sent = 0
                async for page in _pages(caller, source, records_of(customer_id), customer_id,
                                         sessions):
                    if page:
                        yield (b"," if sent else b"") + _json(name, page)[1:-1]
                        sent += len(page)
                yield b"]"
        except Exception as exc:
            logger.warning("access export of request %s stopped in section %s after %d "
                           "records (%s); the client got an incomplete document",
                           request_id, name, sent, type(exc).__name__)
            raise
        yield b',"retention":' + _json("retention", retention(periods)) + b"}"

    return document()
