"""Consent use cases; withdrawal takes effect at once for every later read."""

from app.consents import repository
from app.consents.models import ConsentEvent
from app.core.access import allowed_fields, audit_read, audit_write
from app.core.deps import Caller
from app.core.errors import Forbidden, NotFound
from app.identity.service import readable
from app.policies.public import version_in_effect
from app.policy.purposes import CONSENT_PURPOSES, Purpose, Resource
from app.policy.roles import Role

DEFAULT_GRANTED = True  # order status notifications come with an order until withdrawn


class ConsentPurposeUnknown(NotFound):
    code = "consent_purpose_unknown"


class GrantNeedsCustomer(Forbidden):
    code = "consent_grant_needs_customer"


def _purpose(name: str) -> Purpose:
    if name not in {p.value for p in CONSENT_PURPOSES}:
        raise ConsentPurposeUnknown(
            f"{name!r} is not a consent-based purpose; those are: "
            f"{', '.join(sorted(p.value for p in CONSENT_PURPOSES))}.")
    return Purpose(name)


async def read(caller: Caller, customer_id: str) -> list[dict]:
    """Current consent per consent-based purpose, as the purpose allows; audited."""
    fields = allowed_fields(caller, Resource.CONSENT)
    result = await states(caller, customer_id)
    await audit_read(caller, Resource.CONSENT, [(customer_id, None, fields)])
    return [{f: state[f] for f in fields} for state in result]


async def states(caller: Caller, customer_id: str) -> list[dict]:
    """Current consent per consent-based purpose, with its history."""
    await readable(caller, customer_id)
    return await held(caller, customer_id)


async def held(caller: Caller, customer_id: str) -> list[dict]:
    """Consents of a customer the caller was already allowed to reach."""
    events = await repository.history(caller.session, customer_id)
    result = []
    for purpose in sorted(CONSENT_PURPOSES):
        mine = [e for e in events if e.purpose == purpose]
        result.append({
            "purpose": purpose.value,
            "granted": mine[-1].granted if mine else DEFAULT_GRANTED,
            "changed_at": mine[-1].changed_at if mine else None,
            "history": [{"granted": e.granted, "changed_at": e.changed_at,
                         "changed_by_role": e.changed_by_role,
                         "policy_version": e.policy_version} for e in mine]})
    return result


async def change(caller: Caller, customer_id: str, purpose_name: str, *, granted: bool) -> dict:
    """Grant or withdraw consent; effective for the very next read.

    Anyone who may act for the customer may withdraw; only the customer (or the storefront
    session the customer is signed in to) may grant.
    """
    purpose = _purpose(purpose_name)
    await readable(caller, customer_id)
    actor = caller.actor
    if granted and customer_id not in (actor.sub if actor.role is Role.CUSTOMER else None,
                                       actor.signed_in_customer):
        raise GrantNeedsCustomer("Only the customer can grant consent; staff may only "
                                 "record a withdrawal.")
    await repository.add(caller.session, ConsentEvent(
        customer_id=customer_id, purpose=purpose.value, granted=granted,
        changed_by_role=str(caller.actor.role),
        policy_version=await version_in_effect(caller.session)))
    await audit_write(caller, Resource.CUSTOMER, "grant" if granted else "withdraw",
                      subject_id=customer_id, resource_id=f"consent:{purpose.value}",
                      fields=["consent"])
    return next(s for s in await held(caller, customer_id) if s["purpose"] == purpose.value)
