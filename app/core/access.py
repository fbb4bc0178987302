"""The one path every read of personal data takes: policy decision, then audit."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Row, Select

from app.audit import repository as audit
from app.consents import repository as consents
from app.core.deps import Caller, PurposeNotPermitted
from app.core.errors import Forbidden, Gone
from app.policy.decisions import Reason, decide, project
from app.policy.purposes import PURPOSE_TABLE, Resource


class ShipmentDelivered(Gone):
    code, title = "shipment_delivered", "Shipment delivered"


class ConsentWithdrawn(Forbidden):
    code, title = "consent_withdrawn", "Consent withdrawn"


def allowed_fields(caller: Caller, resource: Resource, *, delivered: bool = False
                   ) -> tuple[str, ...]:
    """Fields of `resource` this caller may read for its purpose, or raise why not."""
    decision = decide(caller.actor.role, caller.purpose, resource, delivered=delivered)
    if decision.allowed:
        return decision.fields
    if decision.reason is Reason.GONE_AFTER_DELIVERY:
        raise ShipmentDelivered("This order was delivered; its delivery data is no longer "
                                "shared. Destroy your copy and confirm with POST "
                                "/v1/orders/{order_number}/destruction.")
    if decision.reason is Reason.RESOURCE_NOT_COVERED:
        raise PurposeNotPermitted(f"The {caller.purpose} purpose does not cover {resource} data.")
    raise PurposeNotPermitted(f"Role {caller.actor.role} may not read for {caller.purpose}.")


async def withdrawn(caller: Caller, subject_ids: Iterable[str]) -> set[str]:
    """Subjects who withdrew consent to the caller's purpose (none if it needs no consent)."""
    if not PURPOSE_TABLE[caller.purpose].consent_based:
        return set()
    return await consents.withdrawn_among(caller.session, caller.purpose.value, subject_ids)


async def ensure_consent(caller: Caller, subject_id: str) -> None:
    """Raise `ConsentWithdrawn` if the subject withdrew consent to the caller's purpose."""
    if await withdrawn(caller, [subject_id]):
        raise ConsentWithdrawn(f"The customer withdrew consent to {caller.purpose}.")


def view(fields: tuple[str, ...], readers: Mapping[str, Callable[[Any, Any], Any]], record: Any,
         caller: Caller) -> dict:
    """Project one record onto exactly the allowed fields."""
    return project(fields, readers, record, caller.keys)


async def read_one(caller: Caller, resource: Resource, query: tuple[Select, dict], *,
                   subject_id: str, resource_id: str | None, fields: tuple[str, ...]
                   ) -> Row | None:
    """Fetch one record with a reusable (statement, parameters) query and audit the read in
    the same statement; None if there is no such record for this caller."""
    stmt, params = query
    return await audit.fetch_one_recorded(
        caller.session, stmt, params, caller.actor, key=caller.keys.audit_key, action="read",
        purpose=str(caller.purpose),
        resource=str(resource), subject_id=subject_id, resource_id=resource_id, fields=fields)


async def audit_read(caller: Caller, resource: Resource,
                     entries: Iterable[tuple[str | None, str | None, Iterable[str]]]) -> None:
    """Record a read: one entry per (subject, resource id, fields returned)."""
    await audit.record(caller.session, caller.actor, key=caller.keys.audit_key, action="read",
                       purpose=str(caller.purpose), resource=str(resource), entries=entries)


async def audit_write(caller: Caller, resource: Resource, action: str, *, subject_id: str,
                      resource_id: str, fields: Iterable[str]) -> None:
    """Record a write, naming the fields changed but never their values."""
    await audit.record(caller.session, caller.actor, key=caller.keys.audit_key, action=action,
                       purpose=str(caller.purpose) if caller.purpose else None,
                       resource=str(resource), entries=[(subject_id, resource_id, fields)])
