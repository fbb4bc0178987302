"""What routes need, as `Annotated` aliases: the session, the caller and the purpose."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import Keys
from app.core.errors import AppError, Forbidden, Unauthenticated
from app.core.security import Actor
from app.policy.decisions import Reason, parse_purpose, purposes_for, role_may_use
from app.policy.purposes import Purpose
from app.policy.roles import Role


class PurposeRequired(AppError):
    status, code, title = 400, "purpose_required", "Purpose required"


class UnknownPurpose(AppError):
    status, code, title = 400, "unknown_purpose", "Unknown purpose"


class PurposeNotPermitted(AppError):
    status, code, title = 403, "purpose_not_permitted", "Purpose not permitted"


class RoleNotPermitted(Forbidden):
    code, title = "role_not_permitted", "Role not permitted"


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed if the route succeeds, rolled back if not."""
    async with request.app.state.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction():
            await session.commit()


# scope="function": commit or roll back before the response is sent, never after.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


async def _actor(request: Request) -> Actor:
    """The verified caller; the OpenAPI document declares the bearer scheme for every route."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send `Authorization: Bearer <token>`.")
    return await request.app.state.verifier.verify(token.strip())


CurrentActor = Annotated[Actor, Depends(_actor)]


XPurpose = Annotated[str | None, Header(
    description="Why this personal data is read: delivery, service, fraud, payment, self or "
                "notifications.",
    examples=["service"],
)]


def _purpose(actor: Actor, x_purpose: str | None) -> Purpose:
    if not x_purpose:
        raise PurposeRequired("Name the purpose of this read in the X-Purpose header.")
    purpose = parse_purpose(x_purpose)
    if purpose is None:
        raise UnknownPurpose(f"{x_purpose!r} is not a purpose of this service; "
                             f"use one of: {', '.join(p.value for p in Purpose)}.")
    if role_may_use(actor.role, purpose) is not Reason.PERMITTED:
        allowed = ", ".join(p.value for p in purposes_for(actor.role)) or "none"
        raise PurposeNotPermitted(f"Role {actor.role} may not read for {purpose}; "
                                  f"its purposes: {allowed}.")
    return purpose


@dataclass(frozen=True, slots=True)
class Caller:
    """Everything a service needs to act for one request."""

    session: AsyncSession
    actor: Actor
    keys: Keys
    purpose: Purpose | None = None


async def _reader(request: Request, session: SessionDep, x_purpose: XPurpose = None) -> Caller:
    actor = await _actor(request)  # called directly: one dependency less on the hottest path
    return Caller(session, actor, request.app.state.keys, _purpose(actor, x_purpose))


async def _writer(request: Request, session: SessionDep, actor: CurrentActor) -> Caller:
    return Caller(session, actor, request.app.state.keys)


Reader = Annotated[Caller, Depends(_reader)]
"""A caller who named an allowed purpose in `X-Purpose`."""

Writer = Annotated[Caller, Depends(_writer)]
"""A caller changing data; no purpose needed."""


def allow(*roles: Role):
    """Dependency that lets only these roles through (403 `role_not_permitted` otherwise)."""

    async def check(actor: CurrentActor) -> None:
        if actor.role not in roles:
            raise RoleNotPermitted(f"Role {actor.role} may not do this.")

    return Depends(check)


IdempotencyKey = Annotated[str | None, Header(
    min_length=1, max_length=200,
    description="Retry-safe creation: the same key and body return the same response.",
)]
