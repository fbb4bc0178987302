"""Request lifecycle: file, verify identity, carry out, reject; deadlines in business days."""

import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import gate
from app.access.callers import Reader, Writer
from app.access.projection import Projection
from app.consents import public as consents
from app.core.business_days import BusinessCalendar
from app.core.db import new_id, utcnow
from app.core.errors import AppError
from app.identity import public as identity
from app.outbox.service import enqueue
from app.partners.public import WebhookEvent
from app.policy.purposes import CONSENT_PURPOSES, Resource
from app.policy.roles import Role
from app.requests import export, fanout, lockouts, repository
from app.requests.erasure import erase_customer
from app.requests.errors import (
    ChangesRequired,
    RequestNotFound,
    RequestNotOpen,
    VerificationLocked,
)
from app.requests.guard import Limits
from app.requests.models import OPEN_STATES, PrivacyRequest, RequestState, RequestType
from app.requests.readers import REJECTION_REASON, REQUESTS
from app.requests.schemas import RequestCreate
from app.retention.public import Periods

S, T = RequestState, RequestType
DUE_IN_BUSINESS_DAYS = {T.ACCESS: 2, T.CORRECTION: 2, T.DELETION: 7, T.CONSENT_WITHDRAWAL: 0}
CHANGES = "privacy_request.changes"

EraseLater = Callable[[str], None]
"""Schedules the rest of a deletion (`erasure.finish` of a request id) after the response."""


@dataclass(frozen=True)
class Rules:
    """The promises requests are held to."""

    calendar: BusinessCalendar
    code_ttl: timedelta
    max_attempts: int
    retention: Periods
    limits: Limits


class VerificationFailed(AppError):
    status, code, title = 422, "verification_failed", "Verification failed"


async def _view(caller: Reader, request_id: str) -> Projection:
    return await gate.read_one(caller, REQUESTS, repository.one(caller.actor, request_id))


async def _notify(caller: Writer, customer_id: str, *, kind: str, subject: str, body: str,
                  email: str | None = None) -> None:
    if email is None:
        email, _ = await identity.contact_of(caller.session, caller.keys, customer_id)
    if email is None:
        return
    await enqueue(caller.session, caller.keys, kind=kind, to=email, subject=subject, body=body,
                  customer_id=customer_id)
    await gate.record_write(caller, Resource.CUSTOMER, "notify", subject_id=customer_id,
                            resource_id=customer_id, fields=["email"])


async def file(caller: Reader, payload: RequestCreate, rules: Rules, *,
               erase_later: EraseLater) -> tuple[Projection, bool]:
    """File a request; an open one of the same type is answered instead (created=False).

    The customer's row is locked first, so parallel filings queue; the partial unique index
    on open requests is the guarantee. A filing that would mail a code waits out lockouts and
    the resend window (429).
    """
    gate.fields_for(caller, REQUESTS)
    customer_id = payload.customer_id
    await identity.lock(caller.session, customer_id)
    await identity.ensure_visible(caller, customer_id)  # after the lock: not erased meanwhile
    existing = await repository.open_request(caller.session, customer_id, payload.type)
    now = utcnow()
    if existing is not None and not _code_expired(existing, now):
        return await _view(caller, existing.id), False
    mails_code = not (payload.type is T.CONSENT_WITHDRAWAL or _signed_in(caller, customer_id))
    if mails_code:
        await lockouts.before_mailing_code(caller, customer_id, rules.limits, now)
    if existing is not None:
        _reject(existing, "The verification code expired; a new request was filed.", now)
        await repository.save(caller.session, existing)
    row_id = new_id()
    request = PrivacyRequest(
        id=row_id, customer_id=customer_id, type=payload.type, state=S.AWAITING_VERIFICATION,
        received_at=now, filed_by_role=str(caller.actor.role),
        filed_by_id=caller.actor.partner_id or caller.actor.sub,
        purposes=payload.purposes, code_attempts=0,
        changes_enc=caller.keys.cipher.encrypt(
            payload.changes.model_dump_json(exclude_unset=True), context=CHANGES,
            row_id=row_id)
        if payload.changes else None)
    if not await repository.insert_open(caller.session, request):
        existing = await repository.open_request(caller.session, customer_id, payload.type)
        assert existing is not None
        return await _view(caller, existing.id), False
    await gate.record_write(caller, Resource.CUSTOMER, "file_request", subject_id=customer_id,
                            resource_id=request.id, fields=[])
    if payload.type is T.CONSENT_WITHDRAWAL:
        _mark_verified(request, "not_required", now, rules)
        await _carry_out(caller, request, rules, erase_later)
    elif not mails_code:
        _mark_verified(request, "storefront_session", now, rules)
        await _carry_out(caller, request, rules, erase_later)
    else:
        await _send_code(caller, request, rules)
    return await _view(caller, request.id), True


def _signed_in(caller: Writer, customer_id: str) -> bool:
    return caller.actor.role is Role.STOREFRONT and caller.actor.signed_in_customer == customer_id


async def _send_code(caller: Writer, request: PrivacyRequest, rules: Rules) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    request.code_hash = caller.keys.code_hash(request.id, code)
    request.code_expires_at = utcnow() + rules.code_ttl
    minutes = int(rules.code_ttl.total_seconds() // 60)
    await _notify(caller, request.customer_id, kind="verification_code",
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
            and (request.code_hash is None or request.code_expires_at is None
                 or now >= request.code_expires_at))


async def _writable(caller: Writer, request_id: str) -> PrivacyRequest:
    """The request, locked until the transaction ends, so one state change wins; its
    customer's row is locked first, the order every change spanning a customer keeps."""
    customer_id = await repository.customer_of(caller.session, caller.actor, request_id)
    if customer_id is None:
        raise RequestNotFound()
    await identity.lock(caller.session, customer_id)
    request = await repository.get_readable(caller.session, caller.actor, request_id,
                                            for_update=True)
    if request is None:
        raise RequestNotFound()
    return request


async def verify(caller: Reader, request_id: str, code: str, rules: Rules, *,
                 erase_later: EraseLater) -> Projection | VerificationFailed | VerificationLocked:
    """Check a one-time code; a failure is returned (not raised) so the attempt is kept.

    The customer and request rows are locked while the code is checked, so parallel guesses
    count one by one; wrong codes count per customer and per caller across all requests.
    """
    gate.fields_for(caller, REQUESTS)
    request = await _writable(caller, request_id)
    if request.state != S.AWAITING_VERIFICATION:
        raise RequestNotOpen(f"This request is {request.state}; it awaits no code.")
    now = utcnow()
    await lockouts.ensure_unlocked(caller, request.customer_id, now)
    if _code_expired(request, now):
        _reject(request, "The verification code expired; file the request again.", now)
        return VerificationFailed("The code expired; file the request again.",
                                  code="verification_expired")
    if not secrets.compare_digest(caller.keys.code_hash(request.id, code),
                                  request.code_hash or ""):
        request.code_attempts += 1
        locked = await lockouts.count_failure(caller, request.customer_id, rules.limits, now)
        left = rules.max_attempts - request.code_attempts
        if left <= 0:
            _reject(request, "Too many wrong verification codes; file the request again.", now)
        await repository.save(caller.session, request)
        if locked is not None:
            return locked
        if left <= 0:
            return VerificationFailed("Too many wrong codes; file the request again.",
                                      code="verification_exhausted")
        return VerificationFailed(f"Wrong code; {left} attempts left.")
    _mark_verified(request, "code", now, rules)
    await _carry_out(caller, request, rules, erase_later)
    return await _view(caller, request.id)


def _reject(request: PrivacyRequest, reason: str | None, now: datetime) -> None:
    request.state, request.rejected_at, request.rejection_reason = S.REJECTED, now, reason
    request.code_hash = request.changes_enc = None


async def _carry_out(caller: Writer, request: PrivacyRequest, rules: Rules,
                     erase_later: EraseLater) -> None:
    kind = T(request.type)
    if kind is T.ACCESS:
        await _complete(caller, request, {"export": f"/v1/requests/{request.id}/export"})
    elif kind is T.CORRECTION and request.changes_enc:
        changes = json.loads(caller.keys.cipher.decrypt(request.changes_enc, context=CHANGES,
                                                        row_id=request.id))
        await _correct(caller, request, changes)
    elif kind is T.CONSENT_WITHDRAWAL:
        purposes = request.purposes or sorted(p.value for p in CONSENT_PURPOSES)
        await consents.withdraw(caller.session, request.customer_id, purposes,
                                by_role=str(caller.actor.role))
        for purpose in purposes:
            await gate.record_write(caller, Resource.CUSTOMER, "withdraw",
                                    subject_id=request.customer_id,
                                    resource_id=f"consent:{purpose}", fields=["consent"])
        await _complete(caller, request, {"withdrawn": purposes})
    elif kind is T.DELETION:
        await _delete(caller, request, rules, erase_later)


async def _delete(caller: Writer, request: PrivacyRequest, rules: Rules,
                  erase_later: EraseLater) -> None:
    """Answer the deletion and erase the identity now; the rest is erased after the
    response, in batches (`erasure.finish`)."""
    email, _ = await identity.contact_of(caller.session, caller.keys, request.customer_id)
    request.state, request.completed_at = S.COMPLETED, utcnow()
    await repository.save(caller.session, request)
    told = await fanout.tell_partners(caller.session, request, WebhookEvent.ERASED)
    request.outcome = await erase_customer(caller.session, request.customer_id,
                                           periods=rules.retention) | told
    await gate.record_write(caller, Resource.CUSTOMER, "erase", subject_id=request.customer_id,
                            resource_id=request.id, fields=request.outcome["erased"])
    if not request.outcome["erased"]:
        await _notify(caller, request.customer_id, kind="request_outcome", email=email,
                      subject="Your data is under a legal hold",
                      body="We may not delete your personal information yet: a legal hold "
                           "requires us to keep it. Your request's answer says why and until "
                           "when; ask again once the hold ends.")
        return
    await _notify(caller, request.customer_id, kind="request_outcome", email=email,
                  subject="Your data was deleted",
                  body="As you asked, we deleted your personal information. Order records "
                       "the law requires us to keep are kept without your name, contact "
                       "details or street, and are deleted when that period ends.")
    erase_later(request.id)


async def _correct(caller: Writer, request: PrivacyRequest, changes: dict[str, Any]) -> None:
    fields, _ = await identity.correct(caller.session, caller.keys, request.customer_id,
                                       changes)
    await gate.record_write(caller, Resource.CUSTOMER, "update", subject_id=request.customer_id,
                            resource_id=request.customer_id, fields=fields)
    request.changes_enc = None
    told = await fanout.tell_partners(caller.session, request, WebhookEvent.CORRECTED)
    await _complete(caller, request, {"corrected": fields} | told)


async def _complete(caller: Writer, request: PrivacyRequest, outcome: dict[str, Any]) -> None:
    request.state, request.completed_at, request.outcome = S.COMPLETED, utcnow(), outcome
    await repository.save(caller.session, request)
    await _notify(caller, request.customer_id, kind="request_outcome",
                  subject=f"Your {request.type.replace('_', ' ')} request is done",
                  body=f"We completed your {request.type.replace('_', ' ')} request "
                       f"({request.id}). {_summary(outcome)}")


def _summary(outcome: dict[str, Any]) -> str:
    if "export" in outcome:
        return "Your data export is ready in your account."
    if "corrected" in outcome:
        return f"Corrected: {', '.join(outcome['corrected'])}."
    return f"Consent withdrawn for: {', '.join(outcome.get('withdrawn', []))}."


async def apply_correction(caller: Reader, request_id: str, changes: dict[str, Any]
                           ) -> Projection:
    """Staff apply the changes of a verified correction request that came without them."""
    gate.fields_for(caller, REQUESTS)
    request = await _writable(caller, request_id)
    if request.type != T.CORRECTION:
        raise ChangesRequired("Only a verified correction request awaits changes.")
    if request.state != S.VERIFIED:
        raise RequestNotOpen(f"This request is {request.state}; it awaits no changes.")
    await _correct(caller, request, changes)
    return await _view(caller, request.id)


async def reject(caller: Reader, request_id: str, reason: str) -> Projection:
    """Reject an open request, with the reason the customer is told."""
    gate.fields_for(caller, REQUESTS)
    request = await _writable(caller, request_id)
    if request.state not in OPEN_STATES:
        raise RequestNotOpen(f"This request is already {request.state}.")
    _reject(request, None, utcnow())
    request.rejection_reason_enc = caller.keys.cipher.encrypt(reason, context=REJECTION_REASON,
                                                              row_id=request.id)
    await repository.save(caller.session, request)
    await _notify(caller, request.customer_id, kind="request_outcome",
                  subject=f"Your {request.type.replace('_', ' ')} request",
                  body=f"We could not carry out your request ({request.id}): {reason}")
    return await _view(caller, request.id)


async def read(caller: Reader, request_id: str) -> Projection:
    """One request."""
    return await _view(caller, request_id)


async def list_requests(caller: Reader, *, state: RequestState | None, type_: str | None,
                        overdue: bool, cursor: str | None, limit: int) -> dict[str, Any]:
    """Requests by state and type, oldest first; `overdue` keeps open ones past their due date,
    most overdue first."""
    stmt = repository.listed(caller.actor, state=state, type_=type_,
                             overdue_at=utcnow() if overdue else None)
    return await gate.read_page(caller, REQUESTS, stmt, order=repository.order_of(overdue=overdue),
                                cursor=cursor, limit=limit)


async def export_for(caller: Reader, request_id: str, rules: Rules, *,
                     sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
    """The export of a completed access request, read now through the gate and streamed:
    refusals are raised here, before the first byte."""
    gate.fields_for(caller, REQUESTS)
    request = await repository.get_readable(caller.session, caller.actor, request_id)
    if request is None:
        raise RequestNotFound()
    if request.type != T.ACCESS or request.state != S.COMPLETED:
        raise RequestNotOpen("Only a completed access request has an export.")
    await identity.ensure_visible(caller, request.customer_id)
    return await export.stream(caller, request.customer_id, sessions=sessions,
                               periods=rules.retention, request_id=request_id)
