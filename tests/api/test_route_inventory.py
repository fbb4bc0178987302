"""Every route of the app, walked: whatever can return personal data passes the read gate.

A route is either known to return no personal data (a receipt, a probe, nothing) or its
response model is a `GatedView` and it takes the reader dependency (`X-Purpose`). Each gated
route is then called three ways: without `X-Purpose` (400), with a purpose its role may not use
(403) and as allowed (2xx), and the audit entries of that call must name exactly the fields
the response holds.
"""

import types
import typing
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import select, update

from app.access.deps import ReaderDep, WriterDep
from app.access.projection import GatedView
from app.analytics.schemas import OrderAggregates
from app.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.health import Health
from app.core.schemas import Receipt
from app.outbox.models import OutboxMessage
from app.partners.schemas import Destruction, NoticeConfirmation, PartnerSecret, PartnerView
from app.policies.schemas import (
    AcceptanceRead,
    NoticeProgress,
    PolicyHistory,
    PolicyVersionRead,
    PolicyVersionSummary,
)
from app.policy.roles import Role
from app.requests.models import PrivacyRequest, VerificationGuard
from tests.factories import create_address, create_customer, create_message, create_order

NON_PERSONAL_MODELS: tuple[type[BaseModel], ...] = (
    Receipt, Health, PolicyVersionRead, PolicyVersionSummary, PolicyHistory, NoticeProgress,
    AcceptanceRead, PartnerView, PartnerSecret, NoticeConfirmation, Destruction, OrderAggregates)
"""Response models that carry no personal values: receipts of writes (ids, field names, or
what the caller just sent), probes, the published policy, notice counts, and the registry of
partner companies and the destruction requests sent to them (order numbers and dates), and
k-anonymous aggregates (groups of at least k customers, never one person)."""


def holds_gated_view(annotation: Any) -> bool:
    """Whether a response annotation is, or contains, a `GatedView`."""
    if isinstance(annotation, type) and issubclass(annotation, GatedView):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(holds_gated_view(field.annotation)
                   for field in annotation.model_fields.values())
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return any(holds_gated_view(arg) for arg in typing.get_args(annotation))
    return False


def _dependencies(route: APIRoute) -> set[Callable[..., Any]]:
    found, stack = set(), [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        stack.extend(dependant.dependencies)
    return found


READER = typing.get_args(ReaderDep)[1].dependency


def _non_personal(model: Any) -> bool:
    """A receipt-like model, or a page of them."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return False
    generic = model.__pydantic_generic_metadata__
    if generic["origin"] is not None:
        return all(_non_personal(arg) for arg in generic["args"])
    return issubclass(model, NON_PERSONAL_MODELS)


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route of the app, with its method and full path."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield f"{sorted(context.methods or route.methods)[0]} {context.path}", route


INFRASTRUCTURE = {"/docs", "/docs/oauth2-redirect", "/redoc", "/metrics", "/openapi.json"}
"""Routes that serve the docs explorer and counters, never records."""

STREAMED = {"/v1/audit/entries/export"}
"""Streams of the trail (field names, never values): they take the reader, the gate decides
and audits them before the first byte (tests/api/test_audit_trail.py)."""


def inventory_problems(app: FastAPI) -> list[str]:
    """Routes that could hand out personal data outside the gate."""
    problems = []
    for name, route in api_routes(app):
        if name.split(" ", 1)[1] in INFRASTRUCTURE:
            continue
        model = route.response_model
        if name.split(" ", 1)[1] in STREAMED:
            if READER not in _dependencies(route):
                problems.append(f"{name}: streams the trail without the reader (X-Purpose)")
            continue
        non_personal = route.status_code == 204 or _non_personal(model)
        gated = holds_gated_view(model)
        reads = READER in _dependencies(route)
        if not (non_personal or gated):
            problems.append(f"{name}: response is neither a receipt nor a GatedView")
        if gated and not reads:
            problems.append(f"{name}: returns personal data without the reader (X-Purpose)")
    return problems


def gated_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route whose response holds a `GatedView`."""
    return {tuple(name.split(" ", 1)) for name, route in api_routes(app)  # type: ignore[misc]
            if holds_gated_view(route.response_model)}


def test_every_route_is_classified_and_gated(app):
    assert inventory_problems(app) == []


def test_the_inventory_catches_a_route_added_without_the_gate(app):
    """The inventory fails for a route that returns data without the gate, or with a gated
    view but without the reader."""
    leaky = FastAPI()
    leaky.router.routes.extend(app.router.routes)

    @leaky.get("/v1/customers/{customer_id}/leak")
    async def leak(customer_id: str, writer: WriterDep) -> dict[str, str]:
        return {"name": "whatever the database holds"}

    @leaky.get("/v1/customers/{customer_id}/sneaky", response_model=Receipt | GatedView)
    async def sneaky(customer_id: str, writer: WriterDep) -> Any:
        return None

    assert inventory_problems(leaky) == [
        "GET /v1/customers/{customer_id}/leak: response is neither a receipt nor a GatedView",
        "GET /v1/customers/{customer_id}/sneaky: returns personal data without the reader "
        "(X-Purpose)"]


def test_a_gated_view_refuses_anything_but_a_gate_projection():
    from app.access.projection import Projection
    from app.identity.schemas import CustomerView

    with pytest.raises(ValueError, match="read gate"):
        CustomerView.model_validate({"name": "Mei Lin"})
    with pytest.raises(TypeError, match="only app.access.gate"):
        Projection({"name": "Mei Lin"}, made_by=object())


# Calling every gated route.

@dataclass
class Scene:
    """One customer with data of every kind, and the ids the routes need."""

    customer_id: str
    email: str
    address_id: str
    order_number: str
    complaint_id: str
    open_request_id: str
    correction_request_id: str
    access_request_id: str
    disclosure_id: str
    hold_id: str


@dataclass(frozen=True)
class Call:
    """How to call one gated route: as whom, for which purpose, and one purpose refused."""

    role: Role
    purpose: str
    refused: str
    path: Callable[[Scene], str]
    body: Callable[[Scene], dict] | None = None
    prepare: Callable[[Any, Any, Scene], Awaitable[dict]] | None = None


async def _code_of(session, keys, request_id: str) -> dict:
    """The code in the newest verification mail to the request's customer."""
    customer_id = await session.scalar(select(PrivacyRequest.customer_id).where(
        PrivacyRequest.id == request_id))
    mail = (await session.execute(
        select(OutboxMessage.id, OutboxMessage.body_enc).where(
            OutboxMessage.kind == "verification_code", OutboxMessage.customer_id == customer_id)
        .order_by(OutboxMessage.created_at.desc()).limit(1))).one()
    body = keys.cipher.decrypt(mail.body_enc, context="outbox_message.body", row_id=mail.id)
    return {"code": next(word.strip(".") for word in body.split()
                         if word.strip(".").isdigit() and len(word.strip(".")) == 6)}


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/v1/customers/{customer_id}"): Call(
        Role.SUPPORT_AGENT, "service", "fraud", lambda s: f"/v1/customers/{s.customer_id}"),
    ("POST", "/v1/customers/lookup"): Call(
        Role.STOREFRONT, "service", "fraud", lambda s: "/v1/customers/lookup",
        body=lambda s: {"email": s.email}),
    ("GET", "/v1/customers/{customer_id}/addresses"): Call(
        Role.STOREFRONT, "service", "payment",
        lambda s: f"/v1/customers/{s.customer_id}/addresses"),
    ("GET", "/v1/customers/{customer_id}/addresses/{address_id}"): Call(
        Role.FRAUD_ANALYST, "fraud", "service",
        lambda s: f"/v1/customers/{s.customer_id}/addresses/{s.address_id}"),
    ("GET", "/v1/orders"): Call(Role.SUPPORT_AGENT, "service", "delivery", lambda s: "/v1/orders"),
    ("GET", "/v1/orders/late"): Call(
        Role.SUPPORT_AGENT, "service", "fraud", lambda s: "/v1/orders/late"),
    ("GET", "/v1/disclosures"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: "/v1/disclosures"),
    ("GET", "/v1/disclosures/{disclosure_id}"): Call(
        Role.PRIVACY_OFFICER, "oversight", "self", lambda s: f"/v1/disclosures/{s.disclosure_id}"),
    ("GET", "/v1/audit/entries"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service",
        lambda s: f"/v1/audit/entries?customer_id={s.customer_id}"),
    ("POST", "/v1/holds"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: "/v1/holds",
        body=lambda s: {"order_number": s.order_number, "reason": "Tax audit of 2026 sales",
                        "reference": "TA-2026-117"}),
    ("GET", "/v1/holds"): Call(Role.PRIVACY_OFFICER, "oversight", "self", lambda s: "/v1/holds"),
    ("GET", "/v1/holds/{hold_id}"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: f"/v1/holds/{s.hold_id}"),
    ("POST", "/v1/holds/{hold_id}/lift"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: f"/v1/holds/{s.hold_id}/lift"),
    ("GET", "/v1/orders/{order_number}"): Call(
        Role.STOREFRONT, "delivery", "fraud", lambda s: f"/v1/orders/{s.order_number}"),
    ("GET", "/v1/customers/{customer_id}/orders"): Call(
        Role.CUSTOMER, "self", "service", lambda s: f"/v1/customers/{s.customer_id}/orders"),
    ("GET", "/v1/customers/{customer_id}/messages"): Call(
        Role.SUPPORT_AGENT, "service", "self",
        lambda s: f"/v1/customers/{s.customer_id}/messages"),
    ("GET", "/v1/customers/{customer_id}/consents"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service",
        lambda s: f"/v1/customers/{s.customer_id}/consents"),
    ("PUT", "/v1/customers/{customer_id}/consents/{purpose}"): Call(
        Role.CUSTOMER, "self", "service",
        lambda s: f"/v1/customers/{s.customer_id}/consents/notifications",
        body=lambda s: {"granted": False}),
    ("GET", "/v1/customers/{customer_id}/access-log"): Call(
        Role.CUSTOMER, "self", "delivery", lambda s: f"/v1/customers/{s.customer_id}/access-log"),
    ("GET", "/v1/complaints"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: "/v1/complaints"),
    ("GET", "/v1/complaints/{complaint_id}"): Call(
        Role.SUPPORT_AGENT, "service", "fraud", lambda s: f"/v1/complaints/{s.complaint_id}"),
    ("POST", "/v1/complaints/{complaint_id}/answer"): Call(
        Role.SUPPORT_AGENT, "oversight", "delivery",
        lambda s: f"/v1/complaints/{s.complaint_id}/answer",
        body=lambda s: {"answer": "Your parcel left our warehouse today."}),
    ("POST", "/v1/requests"): Call(
        Role.CUSTOMER, "self", "service", lambda s: "/v1/requests",
        body=lambda s: {"customer_id": s.customer_id, "type": "deletion"}),
    ("POST", "/v1/requests/{request_id}/verify"): Call(
        Role.CUSTOMER, "self", "delivery", lambda s: f"/v1/requests/{s.open_request_id}/verify",
        prepare=lambda session, keys, s: _code_of(session, keys, s.open_request_id)),
    ("GET", "/v1/requests"): Call(
        Role.PRIVACY_OFFICER, "oversight", "self", lambda s: "/v1/requests"),
    ("GET", "/v1/requests/{request_id}"): Call(
        Role.STOREFRONT, "service", "oversight", lambda s: f"/v1/requests/{s.open_request_id}"),
    ("GET", "/v1/requests/{request_id}/export"): Call(
        Role.CUSTOMER, "self", "service", lambda s: f"/v1/requests/{s.access_request_id}/export"),
    ("POST", "/v1/requests/{request_id}/correction"): Call(
        Role.SUPPORT_AGENT, "service", "fraud",
        lambda s: f"/v1/requests/{s.correction_request_id}/correction",
        body=lambda s: {"name": "Corrected Name"}),
    ("GET", "/v1/requests/lockouts"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service", lambda s: "/v1/requests/lockouts"),
    ("POST", "/v1/requests/{request_id}/reject"): Call(
        Role.PRIVACY_OFFICER, "oversight", "service",
        lambda s: f"/v1/requests/{s.open_request_id}/reject",
        body=lambda s: {"reason": "Filed by mistake."}),
}


def test_every_gated_route_has_a_call(app):
    """A new gated route must be added to CALLS, so the checks below cover it."""
    assert gated_routes(app) == set(CALLS)


@pytest.fixture
async def scene(client, auth, app, session, inspection_engine) -> Scene:
    storefront = auth(Role.STOREFRONT)
    email = "inventory@example.com"
    customer_id = await create_customer(client, headers=storefront, email=email)
    address_id = await create_address(client, headers=storefront, customer_id=customer_id)
    order_number = await create_order(client, headers=storefront, customer_id=customer_id,
                                      address_id=address_id,
                                      placed_at=(utcnow() - timedelta(days=30)).isoformat())
    disclosure = await client.post("/v1/disclosures", headers=auth(Role.PRIVACY_OFFICER), json={
        "customer_id": customer_id, "authority": "Shenzhen Public Security Bureau",
        "legal_basis": "Criminal Procedure Law art. 54", "reference": "SZ-2026-7781",
        "fields": ["name", "phone"]})
    assert disclosure.status_code == 201, disclosure.text
    hold = await client.post("/v1/holds", headers=auth(Role.PRIVACY_OFFICER, purpose="oversight"),
                             json={"customer_id": customer_id, "reason": "Court order 7",
                                   "reference": "SZ-CO-7"})
    assert hold.status_code == 201, hold.text
    await create_message(client, headers=storefront, customer_id=customer_id)
    complaint = await client.post("/v1/complaints", headers=storefront, json={
        "customer_id": customer_id, "body": "Where is my dog chew rope?"})
    me = auth(Role.CUSTOMER, sub=customer_id, purpose="self")
    filed = {}
    for kind, state in (("access", "completed"), ("correction", "verified")):
        await _forget_the_last_code_mail(inspection_engine)
        response = await client.post("/v1/requests", headers=me,
                                     json={"customer_id": customer_id, "type": kind})
        assert response.status_code == 201, response.text
        filed[kind] = response.json()["id"]
        code = await _code_of(session, app.state.keys, filed[kind])
        verified = await client.post(f"/v1/requests/{filed[kind]}/verify", json=code,
                                     headers=me)
        assert verified.json()["state"] == state, verified.text
    await _forget_the_last_code_mail(inspection_engine)
    opened = await client.post("/v1/requests", headers=me,
                               json={"customer_id": customer_id, "type": "access"})
    assert opened.status_code == 201, opened.text
    await _lock_out_another_customer(client, auth, app, session)
    return Scene(customer_id, email, address_id, order_number, complaint.json()["id"],
                 opened.json()["id"], filed["correction"], filed["access"],
                 disclosure.json()["id"], hold.json()["id"])


async def _forget_the_last_code_mail(engine) -> None:
    """Move the last code mail out of the resend window, as if minutes had passed."""
    async with engine.begin() as connection:
        await connection.execute(update(VerificationGuard).values(
            code_sent_at=utcnow() - timedelta(hours=1)))


async def _lock_out_another_customer(client, auth, app, session) -> None:
    """Wrong codes until the verification lockout, so the officer's list has an entry."""
    other = await create_customer(client, headers=auth(Role.STOREFRONT), email="locked@x.org")
    them = auth(Role.CUSTOMER, sub=other, purpose="self")
    filed = await client.post("/v1/requests", headers=them,
                              json={"customer_id": other, "type": "access"})
    right = (await _code_of(session, app.state.keys, filed.json()["id"]))["code"]
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(6):
        answer = await client.post(f"/v1/requests/{filed.json()['id']}/verify",
                                   json={"code": wrong}, headers=them)
        if answer.status_code == 429:
            return
    raise AssertionError("no lockout after six wrong codes")


def _headers(auth, role: Role, scene: Scene, purpose: str | None) -> dict:
    sub = scene.customer_id if role is Role.CUSTOMER else f"{role}-1"
    return auth(role, sub=sub, purpose=purpose)


def returned_fields(body: Any) -> set[str]:
    """The field names a response holds: one record's keys, or the union over its items."""
    if isinstance(body, list):
        return set().union(*(returned_fields(item) for item in body))
    if "items" in body and "next_cursor" in body:
        return returned_fields(body["items"])
    if "retention" in body:  # the export: every section's records
        return set().union(*(returned_fields(value) for key, value in body.items()
                             if key != "retention" and value))
    return set(body)


@pytest.mark.parametrize("route", sorted(CALLS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_gated_route_needs_a_purpose_refuses_others_and_audits_what_it_returns(
        client, auth, app, session, inspection_engine, scene, route):
    method, _ = route
    call = CALLS[route]
    url = call.path(scene)
    body = call.body(scene) if call.body else None
    if call.prepare:
        body = await call.prepare(session, app.state.keys, scene)

    async def send(purpose: str | None):
        return await client.request(method, url, json=body,
                                    headers=_headers(auth, call.role, scene, purpose))

    missing = await send(None)
    assert (missing.status_code, missing.json()["code"]) == (400, "purpose_required")
    refused = await send(call.refused)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "purpose_not_permitted"
    await _forget_the_last_code_mail(inspection_engine)
    allowed = await send(call.purpose)
    assert allowed.status_code in (200, 201), allowed.text

    reads = (await session.scalars(select(AuditEntry).where(
        AuditEntry.action == "read",
        AuditEntry.request_id == allowed.headers["x-request-id"]))).all()
    assert reads, "an allowed read must be audited"
    assert {e.purpose for e in reads} == {call.purpose}
    assert set().union(*(e.fields for e in reads)) == returned_fields(allowed.json())
    for refusal in (missing, refused):
        assert not (await session.scalars(select(AuditEntry).where(
            AuditEntry.request_id == refusal.headers["x-request-id"]))).all()


def test_every_route_owns_its_requests_transaction(app):
    """Every API route but the docs pages commits or rolls back its request's session itself
    (a route made outside `api_router` would leave its session open)."""
    from app.core.routing import TransactionalRoute

    plain = [name for name, route in api_routes(app)
             if not isinstance(route, TransactionalRoute)]
    assert plain == ["GET /docs", "GET /redoc"]


def test_every_route_answers_its_own_paths_whatever_the_router_order(app):
    """No route shadows another: a path made from any route's template (each parameter
    filled in) is answered by a route of that very template, so the routers' order (hot
    reads first, app/main.py) decides speed only."""
    import re

    from starlette.routing import Match

    contexts = [context for context in iter_route_contexts(app.routes)
                if isinstance(context.original_route, APIRoute)]
    assert len(contexts) > 50
    for context in contexts:
        path = re.sub(r"\{[^}]+\}", "x1", context.path)
        for method in sorted(context.methods or {"GET"}):
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            first = next(other for other in contexts
                         if other.original_route.matches(scope)[0] is Match.FULL)
            assert first.path == context.path, (method, context.path, first.path)
