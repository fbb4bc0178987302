"""Request lifecycle: file, verify identity, carry out, reject; deadlines in business days."""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.consents import service as consents
from app.core.access import allowed_fields, audit_read, audit_write
from app.core.business_days import BusinessCalendar
from app.core.crypto import Keys
from app.core.db import utcnow
from app.core.deps import Caller
from app.core.errors import AppError
from app.identity import repository as identities
from app.identity.models import Customer
from app.identity.schemas import CustomerUpdate
from app.identity.service import readable
from app.identity.views import EMAIL, seal_identity
from app.outbox.service import enqueue
from app.policy.purposes import CONSENT_PURPOSES, Resource
from app.policy.roles import Role
from app.requests import export, repository
from app.requests.erasure import erase_customer
from app.requests.errors import ChangesRequired, RequestNotFound, RequestNotOpen
from app.requests.models import PrivacyRequest, RequestState, RequestType
from app.requests.schemas import RequestCreate

S, T = RequestState, RequestType
REJECTION_REASON = "privacy_request.rejection_reason"  # encryption context of staff's reasons
DUE_IN_BUSINESS_DAYS = {T.ACCESS: 2, T.CORRECTION: 2, T.DELETION: 7, T.CONSENT_WITHDRAWAL: 0}


@dataclass(frozen=True)
class Rules:
    """The promises requests are held to."""

    calendar: BusinessCalendar
    code_ttl: timedelta
    max_attempts: int
    retention_days: int


class VerificationFailed(AppError):
    status, code, title = 422, "verification_failed", "Verification failed"


def as_view(request: PrivacyRequest, keys: Keys, now: datetime | None = None) -> dict:
    """The request as its API view, with `overdue` computed now."""
    now = now or utcnow()
    overdue = bool(request.state in (S.AWAITING_VERIFICATION, S.VERIFIED) and request.due_at
                   and request.due_at < now)
    reason = keys.cipher.decrypt_optional(request.rejection_reason_enc, context=REJECTION_REASON)
    return {c: getattr(request, c) for c in (
        "id", "customer_id", "type", "state", "received_at", "verified_at", "verified_by",
        "due_at", "completed_at", "rejected_at", "rejection_reason", "outcome")} | {
        "overdue": overdue} | ({"rejection_reason": reason} if reason else {})


async def _notify(caller: Caller, customer: Customer, *, kind: str, subject: str, body: str,
                  email: str | None = None) -> None:
    email = email or caller.keys.cipher.decrypt(customer.email_enc, context=EMAIL)
    await enqueue(caller.session, caller.keys, kind=kind, to=email, subject=subject, body=body,
                  customer_id=customer.id)
    await audit_write(caller, Resource.CUSTOMER, "notify", subject_id=customer.id,
                      resource_id=customer.id, fields=["email"])


async def file(caller: Caller, payload: RequestCreate, rules: Rules) -> tuple[dict, bool]:
    """File a request; an open one of the same type is answered instead (created=False)."""
    customer = await readable(caller, payload.customer_id)
    existing = await repository.open_request(caller.session, customer.id, payload.type)
    now = utcnow()
    if existing is not None and _code_expired(existing, now):
        _reject(existing, "The verification code expired; a new request was filed.", now)
    elif existing is not None:
        return as_view(existing, caller.keys), False
    request = PrivacyRequest(
        customer_id=customer.id, type=payload.type, state=S.AWAITING_VERIFICATION,
        received_at=now, filed_by_role=str(caller.actor.role),
        filed_by_id=caller.actor.partner_id or caller.actor.sub,
        purposes=payload.purposes, code_attempts=0,
        changes_enc=caller.keys.cipher.encrypt(
            payload.changes.model_dump_json(exclude_unset=True),
            context="privacy_request.changes") if payload.changes else None)
    await repository.save(caller.session, request)
    await audit_write(caller, Resource.CUSTOMER, "file_request", subject_id=customer.id,
                      resource_id=request.id, fields=[])
    if payload.type is T.CONSENT_WITHDRAWAL:
        _mark_verified(request, "not_required", now, rules)
        await _carry_out(caller, request, customer, rules)
    elif caller.actor.role is Role.STOREFRONT and caller.actor.signed_in_customer == customer.id:
        _mark_verified(request, "storefront_session", now, rules)
        await _carry_out(caller, request, customer, rules)
    else:
        await _send_code(caller, request, customer, rules)
    return as_view(request, caller.keys), True


async def _send_code(caller: Caller, request: PrivacyRequest, customer: Customer,
                     rules: Rules) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    request.code_hash = caller.keys.code_hash(request.id, code)
    request.code_expires_at = utcnow() + rules.code_ttl
    minutes = int(rules.code_ttl.total_seconds() // 60)
    await _notify(caller, customer, kind="verification_code",
                  subject="Your verification code",
                  body=f"Your code to confirm your {request.type.replace('_', ' ')} request is "
                       f"{code}. It is valid for {minutes} minutes. If you did not ask for "
                       "this, ignore this message.")


def _mark_verified(request: PrivacyRequest, by: str, now: datetime, rules: Rules) -> None:
    request.state, request.verified_by, request.verified_at = S.VERIFIED, by, now
    request.code_hash = request.code_expires_at = None
    days = DUE_IN_BUSINESS_DAYS[T(request.type)]
    request.due_at = rules.calendar.due_at(now, days) if days else now  # 0 days: immediate


def _code_expired(request: PrivacyRequest, now: datetime) -> bool:
    return (request.state == S.AWAITING_VERIFICATION
            and (request.code_hash is None or now >= request.code_expires_at))


async def _readable_request(caller: Caller, request_id: str, *, for_update: bool = False
                            ) -> PrivacyRequest:
    request = await repository.get_readable(caller.session, caller.actor, request_id,
                                            for_update=for_update)
    if request is None:
        raise RequestNotFound()
    return request


async def verify(caller: Caller, request_id: str, code: str, rules: Rules
                 ) -> tuple[dict, VerificationFailed | None]:
    """Check a one-time code; a failure is returned (not raised) so the attempt is kept.

    The request row is locked while the code is checked, so parallel guesses count one by one.
    """
    request = await _readable_request(caller, request_id, for_update=True)
    if request.state != S.AWAITING_VERIFICATION:
        raise RequestNotOpen(f"This request is {request.state}; it awaits no code.")
    now = utcnow()
    if _code_expired(request, now):
        _reject(request, "The verification code expired; file the request again.", now)
        return as_view(request, caller.keys), VerificationFailed(
            "The code expired; file the request again.", code="verification_expired")
    if not secrets.compare_digest(caller.keys.code_hash(request.id, code), request.code_hash):
        request.code_attempts += 1
        left = rules.max_attempts - request.code_attempts
        if left <= 0:
            _reject(request, "Too many wrong verification codes; file the request again.", now)
            return as_view(request, caller.keys), VerificationFailed(
                "Too many wrong codes; file the request again.", code="verification_exhausted")
        await repository.save(caller.session, request)
        return as_view(request, caller.keys), VerificationFailed(
            f"Wrong code; {left} attempts left.")
    customer = await readable(caller, request.customer_id)
    _mark_verified(request, "code", now, rules)
    await _carry_out(caller, request, customer, rules)
    return as_view(request, caller.keys), None


def _reject(request: PrivacyRequest, reason: str | None, now: datetime) -> None:
    request.state, request.rejected_at, request.rejection_reason = S.REJECTED, now, reason
    request.code_hash = request.changes_enc = None


async def _carry_out(caller: Caller, request: PrivacyRequest, customer: Customer,
                     rules: Rules) -> None:
    kind = T(request.type)
    if kind is T.ACCESS:
        await _complete(caller, request, customer, {"export": f"/v1/requests/{request.id}/export"})
    elif kind is T.CORRECTION and request.changes_enc:
        changes = json.loads(caller.keys.cipher.decrypt(request.changes_enc,
                                                        context="privacy_request.changes"))
        await _correct(caller, request, customer, CustomerUpdate(**changes))
    elif kind is T.CONSENT_WITHDRAWAL:
        purposes = request.purposes or sorted(p.value for p in CONSENT_PURPOSES)
        for purpose in purposes:
            await consents.change(caller, customer.id, purpose, granted=False)
        await _complete(caller, request, customer, {"withdrawn": purposes})
    elif kind is T.DELETION:
        email = caller.keys.cipher.decrypt(customer.email_enc, context=EMAIL)
        request.state, request.completed_at = S.COMPLETED, utcnow()
        await repository.save(caller.session, request)
        request.outcome = await erase_customer(caller.session, customer.id,
                                               retention_days=rules.retention_days)
        await audit_write(caller, Resource.CUSTOMER, "erase", subject_id=customer.id,
                          resource_id=request.id, fields=request.outcome["erased"])
        await _notify(caller, customer, kind="request_outcome", email=email,
                      subject="Your data was deleted",
                      body="As you asked, we deleted your personal information. Order records "
                           "the law requires us to keep are kept without your name, contact "
                           "details or street, and are deleted when that period ends.")


async def _correct(caller: Caller, request: PrivacyRequest, customer: Customer,
                   changes: CustomerUpdate) -> None:
    fields = seal_identity(customer, caller.keys, changes.model_dump(exclude_unset=True))
    customer.updated_at = utcnow()
    await identities.save(caller.session, customer)
    await audit_write(caller, Resource.CUSTOMER, "update", subject_id=customer.id,
                      resource_id=customer.id, fields=fields)
    request.changes_enc = None
    await _complete(caller, request, customer, {"corrected": fields})


async def _complete(caller: Caller, request: PrivacyRequest, customer: Customer,
                    outcome: dict) -> None:
    request.state, request.completed_at, request.outcome = S.COMPLETED, utcnow(), outcome
    await repository.save(caller.session, request)
    await _notify(caller, customer, kind="request_outcome",
                  subject=f"Your {request.type.replace('_', ' ')} request is done",
                  body=f"We completed your {request.type.replace('_', ' ')} request "
                       f"({request.id}). {_summary(outcome)}")


def _summary(outcome: dict) -> str:
    if "export" in outcome:
        return "Your data export is ready in your account."
    if "corrected" in outcome:
        return f"Corrected: {', '.join(outcome['corrected'])}."
    return f"Consent withdrawn for: {', '.join(outcome.get('withdrawn', []))}."


async def apply_correction(caller: Caller, request_id: str, changes: CustomerUpdate) -> dict:
    """Staff apply the changes of a verified correction request that came without them."""
    request = await _readable_request(caller, request_id)
    if request.type != T.CORRECTION or request.state != S.VERIFIED:
        raise ChangesRequired("Only a verified correction request awaits changes.")
    customer = await readable(caller, request.customer_id)
    await _correct(caller, request, customer, changes)
    return as_view(request, caller.keys)


async def reject(caller: Caller, request_id: str, reason: str) -> dict:
    """Reject an open request, with the reason the customer is told."""
    request = await _readable_request(caller, request_id)
    if request.state not in (S.AWAITING_VERIFICATION, S.VERIFIED):
        raise RequestNotOpen(f"This request is already {request.state}.")
    _reject(request, None, utcnow())
    request.rejection_reason_enc = caller.keys.cipher.encrypt(reason, context=REJECTION_REASON)
    await repository.save(caller.session, request)
    customer = await identities.get_readable(caller.session, caller.actor, request.customer_id)
    if customer is not None:
        await _notify(caller, customer, kind="request_outcome",
                      subject=f"Your {request.type.replace('_', ' ')} request",
                      body=f"We could not carry out your request ({request.id}): {reason}")
    return as_view(request, caller.keys)


async def read(caller: Caller, request_id: str) -> dict:
    """One request."""
    return as_view(await _readable_request(caller, request_id), caller.keys)


async def list_requests(caller: Caller, *, state: RequestState | None, type_: str | None,
                        overdue: bool, cursor: str | None, limit: int) -> dict:
    """Requests by state; `overdue` keeps open ones past their due date."""
    now = utcnow()
    rows, next_cursor = await repository.list_readable(
        caller.session, caller.actor, state=state, type_=type_,
        overdue_at=now if overdue else None, cursor=cursor, limit=limit)
    return {"items": [as_view(r, caller.keys, now) for r in rows], "next_cursor": next_cursor}


async def export_for(caller: Caller, request_id: str, rules: Rules) -> dict:
    """The export of a completed access request, built now and audited."""
    for resource in export.EXPORTED:
        allowed_fields(caller, resource)
    request = await _readable_request(caller, request_id)
    if request.type != T.ACCESS or request.state != S.COMPLETED:
        raise RequestNotOpen("Only a completed access request has an export.")
    customer = await readable(caller, request.customer_id)
    document, fields = await export.build(caller, customer, retention_days=rules.retention_days)
    await audit_read(caller, Resource.CUSTOMER,
                     [(customer.id, request.id, [f"{r}.{f}" for r, fs in fields.items()
                                                 for f in fs])])
    return document
