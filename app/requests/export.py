"""The access export: everything held about a customer, assembled from each domain's public
face and read through the gate for the caller's purpose."""

from collections.abc import Callable
from typing import Any

from app.access import gate
from app.access.callers import Reader
from app.access.errors import PurposeNotPermitted
from app.access.sources import Source
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
from app.requests.erasure import ORDER_LAW

SECTIONS: tuple[tuple[str, Source, Callable[[str], gate.Query]], ...] = (
    ("addresses", addresses.ADDRESSES, addresses.records_of),
    ("orders", orders.ORDERS, orders.records_of),
    ("messages", messages.MESSAGES, messages.records_of),
    ("complaints", complaints.COMPLAINTS, complaints.records_of),
    ("consents", consents.CONSENTS, consents.records_of),
    ("access_log", audit.ACCESS_LOG, audit.records_of),
    ("disclosures", disclosures.DISCLOSURES, disclosures.records_of),
    ("policies", policies.POLICY_RECORDS, policies.records_of),
)
"""Export sections after identity; a section the purpose does not cover is left out."""


def retention(retention_days: int) -> list[dict[str, str]]:
    """What is kept, for how long and why (no personal data)."""
    return [
        {"category": "identity, addresses, messages, complaints, consents",
         "kept": "while you use our services; deleted on request within 7 business days",
         "why": "to deliver orders and answer customer service"},
        {"category": "orders", "kept": f"{retention_days} days after the order was placed",
         "why": ORDER_LAW},
        {"category": "access log", "kept": "as long as the data it describes",
         "why": "the policy promises every use of personal data is traceable; it holds "
                "who read what and why, never the values"},
    ]


async def build(caller: Reader, customer_id: str, *, retention_days: int) -> dict[str, Any]:
    """The export document for the caller's purpose; every section read through the gate."""
    if not gate.covers(caller, Resource.CUSTOMER):
        raise PurposeNotPermitted(f"The {caller.purpose} purpose does not cover an export.")
    found = await gate.read_all(caller, identity.CUSTOMERS, identity.record_of(customer_id),
                                subject_id=customer_id)
    document: dict[str, Any] = {"identity": found[0] if found else None}
    for name, source, records_of in SECTIONS:
        if gate.covers(caller, source.resource):
            document[name] = await gate.read_all(caller, source, records_of(customer_id),
                                                 subject_id=customer_id)
    document["retention"] = retention(retention_days)
    return document
