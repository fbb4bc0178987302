"""Consent use cases; withdrawal takes effect at once for every later read."""

from app.access import gate
from app.access.callers import Reader
from app.access.projection import Projection
from app.consents import public, repository
from app.consents.errors import ConsentPurposeUnknown, GrantNeedsCustomer
from app.consents.models import ConsentEvent
from app.consents.readers import CONSENTS
from app.identity import public as identity
from app.policies.public import version_in_effect
from app.policy.purposes import CONSENT_PURPOSES, Purpose, Resource
from app.policy.roles import Role


def _purpose(name: str) -> Purpose:
    if name not in {p.value for p in CONSENT_PURPOSES}:
        raise ConsentPurposeUnknown(
            f"{name!r} is not a consent-based purpose; those are: "
            f"{', '.join(sorted(p.value for p in CONSENT_PURPOSES))}.")
    return Purpose(name)


async def read(caller: Reader, customer_id: str) -> list[Projection]:
    """Current consent per consent-based purpose, with history, as the purpose allows."""
    gate.fields_for(caller, CONSENTS)
    await identity.ensure_visible(caller, customer_id)
    return await gate.read_all(caller, CONSENTS, public.records_of(customer_id))


async def _standing(caller: Reader, customer_id: str, purpose: Purpose) -> bool:
    """Whether consent to `purpose` stands now (read for the decision, not returned)."""
    fetch = public.records_of(customer_id)
    return next(s.granted for s in await fetch(caller.session) if s.purpose == purpose.value)


async def change(caller: Reader, customer_id: str, purpose_name: str, *,
                 granted: bool) -> Projection:
    """Grant or withdraw consent; effective for the very next read. The standing returned
    is read back through the gate, so it is audited as a read too. Only a change of standing
    is recorded: a repeated grant or withdrawal answers the standing as it is.

    Anyone who may act for the customer may withdraw; only the customer (or the storefront
    session the customer is signed in to) may grant.
    """
    purpose = _purpose(purpose_name)
    gate.fields_for(caller, CONSENTS)
    await identity.ensure_visible(caller, customer_id)
    actor = caller.actor
    if granted and customer_id not in (actor.sub if actor.role is Role.CUSTOMER else None,
                                       actor.signed_in_customer):
        raise GrantNeedsCustomer("Only the customer can grant consent; staff may only "
                                 "record a withdrawal.")
    await identity.lock(caller.session, customer_id)  # parallel changes queue: one event
    if await _standing(caller, customer_id, purpose) is not granted:
        await repository.add(caller.session, ConsentEvent(
            customer_id=customer_id, purpose=purpose.value, granted=granted,
            changed_by_role=str(actor.role),
            policy_version=await version_in_effect(caller.session)))
        await gate.record_write(caller, Resource.CUSTOMER, "grant" if granted else "withdraw",
                                subject_id=customer_id, resource_id=f"consent:{purpose.value}",
                                fields=["consent"])
    standings = await gate.read_all(caller, CONSENTS, public.records_of(customer_id))
    return next(s for s in standings if s.values["purpose"] == purpose.value)
