"""What routes need from the gate, as `Annotated` aliases: a reader, a writer, a role check."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.callers import Reader, Writer
from app.access.errors import PurposeNotPermitted, PurposeRequired, RoleNotPermitted, UnknownPurpose
from app.core.deps import CurrentActor, request_session, verified_actor
from app.core.security import Actor
from app.partners import public as partners
from app.policy.decisions import Reason, parse_purpose, purposes_for, role_may_use
from app.policy.purposes import Purpose
from app.policy.roles import Role

PURPOSE_HEADER = "X-Purpose"
PURPOSE_PARAMETER = {
    "name": PURPOSE_HEADER, "in": "header", "required": True,
    "schema": {"$ref": "#/components/schemas/Purpose"},
    "description": "Why this personal data is read; the purpose decides which fields come "
                   "back. Required: missing gives 400 `purpose_required`, a purpose the role "
                   "may not use 403 `purpose_not_permitted`.",
}
"""The OpenAPI parameter of every operation that reads (`names_a_purpose`); the reader takes
the header from the request itself, one parameter fewer for FastAPI to solve per read."""


def _purpose(actor: Actor, named: str | None) -> Purpose:
    if not named:
        raise PurposeRequired("Name the purpose of this read in the X-Purpose header.")
    purpose = parse_purpose(named)
    if purpose is None:
        raise UnknownPurpose(f"{named!r} is not a purpose of this service; "
                             f"use one of: {', '.join(p.value for p in Purpose)}.")
    if role_may_use(actor.role, purpose) is not Reason.PERMITTED:
        allowed = ", ".join(p.value for p in purposes_for(actor.role)) or "none"
        raise PurposeNotPermitted(f"Role {actor.role} may not read for {purpose}; "
                                  f"its purposes: {allowed}.")
    return purpose


async def _partner_active(request: Request, session: AsyncSession, actor: Actor) -> None:
    """Refuse a partner token whose partner is not active (once per request)."""
    if actor.partner_id is not None and not getattr(request.state, "partner_active", False):
        await partners.ensure_token_partner(session, actor)
        request.state.partner_active = True


async def _reader(request: Request) -> Reader:
    # the actor and the session are asked for directly: two dependencies less to solve
    actor, session = await verified_actor(request), await request_session(request)
    await _partner_active(request, session, actor)
    named = request.headers.get(PURPOSE_HEADER)
    return Reader(session, actor, request.app.state.keys, _purpose(actor, named))


async def _writer(request: Request, actor: CurrentActor) -> Writer:
    session = await request_session(request)
    await _partner_active(request, session, actor)
    return Writer(session, actor, request.app.state.keys)


ReaderDep = Annotated[Reader, Depends(_reader)]
"""A caller who named a purpose its role may use in `X-Purpose`."""

WriterDep = Annotated[Writer, Depends(_writer)]
"""A caller changing data; no purpose needed."""


def names_a_purpose(route: Dependant) -> bool:
    """Whether a route's dependencies include a `ReaderDep` (so it needs `X-Purpose`)."""
    pending = list(route.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is _reader:
            return True
        pending.extend(dependant.dependencies)
    return False


def allow(*roles: Role) -> Any:
    """Dependency that lets only these roles through (403 `role_not_permitted` otherwise);
    a partner token of an inactive partner gets 403 `partner_not_active` first."""

    async def check(request: Request, actor: CurrentActor) -> None:
        await _partner_active(request, await request_session(request), actor)
        if actor.role not in roles:
            raise RoleNotPermitted(f"Role {actor.role} may not do this.")

    return Depends(check)
