"""How each field of a customer's policy record (a notice or an acknowledgement) is read."""

from dataclasses import dataclass
from datetime import datetime

from app.access.projection import FieldReader
from app.access.sources import Source
from app.policies.errors import PolicyVersionNotFound
from app.policy.purposes import RESOURCE_FIELDS, Resource


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A policy version a customer was notified of, or saw or accepted."""

    customer_id: str
    version: int
    label: str
    event: str
    channel: str | None
    at: datetime | None
    state: str | None


def _field(name: str) -> FieldReader:
    return lambda record, keys: getattr(record, name)


POLICY_RECORD_READERS = {name: _field(name) for name in RESOURCE_FIELDS[Resource.POLICY_RECORD]}

POLICY_RECORDS = Source(resource=Resource.POLICY_RECORD, readers=POLICY_RECORD_READERS,
                        subject=lambda r: r.customer_id, key=lambda r: f"policy:{r.version}",
                        not_found=lambda: PolicyVersionNotFound("No such policy record."))
