"""The access export: everything held about a customer, machine-readable, through the policy."""

from app.addresses.views import ADDRESS_READERS
from app.complaints.service import COMPLAINT_READERS
from app.consents import service as consents
from app.core.deps import Caller
from app.identity.models import Customer
from app.identity.views import CUSTOMER_READERS
from app.messages.service import MESSAGE_READERS
from app.orders.views import ORDER_READERS
from app.policy.decisions import decide, project
from app.policy.purposes import Purpose, Resource
from app.policy.roles import Role
from app.requests import repository
from app.requests.erasure import ORDER_LAW

EXPORTED = (Resource.CUSTOMER, Resource.ADDRESS, Resource.ORDER, Resource.MESSAGE,
            Resource.COMPLAINT, Resource.ACCESS_LOG)


def _fields(resource: Resource) -> tuple[str, ...]:
    return decide(Role.CUSTOMER, Purpose.SELF, resource).fields


def _retention(retention_days: int) -> list[dict]:
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


async def build(caller: Caller, customer: Customer, *, retention_days: int) -> tuple[dict, dict]:
    """The export document, and the fields it returned per resource (for the audit)."""
    records = await repository.customer_records(caller.session, customer.id)
    fields = {resource: _fields(resource) for resource in EXPORTED}
    keys = caller.keys
    document = {
        "identity": project(fields[Resource.CUSTOMER], CUSTOMER_READERS, customer, keys),
        "addresses": [project(fields[Resource.ADDRESS], ADDRESS_READERS, a, keys)
                      for a in records["addresses"]],
        "orders": [project(fields[Resource.ORDER], ORDER_READERS, o, keys)
                   for o in records["orders"]],
        "messages": [project(fields[Resource.MESSAGE], MESSAGE_READERS, m, keys)
                     for m in records["messages"]],
        "complaints": [project(fields[Resource.COMPLAINT], COMPLAINT_READERS, c, keys)
                       for c in records["complaints"]],
        "consents": await consents.held(caller, customer.id),
        "access_log": [{f: getattr(e, f) for f in fields[Resource.ACCESS_LOG]}
                       for e in records["access_log"]],
        "retention": _retention(retention_days),
    }
    return document, fields
