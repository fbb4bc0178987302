"""What every route needs, as `Annotated` aliases: the session and the verified caller."""

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError, Unauthenticated
from app.core.ratelimit import TOKEN_CHECK
from app.core.routing import REQUEST_SESSION
from app.core.security import Actor


async def request_session(request: Request) -> AsyncSession:
    """The request's one session, however many ask for it; its route (`TransactionalRoute`)
    commits or rolls back. Dependencies on the hot path call it directly (one dependency less
    for FastAPI to solve)."""
    if REQUEST_SESSION not in request.scope:
        raise RuntimeError(f"{request.url.path} is not a TransactionalRoute: make its router "
                           "with app.core.routing.api_router")
    session = request.scope[REQUEST_SESSION]
    if session is None:
        session = request.scope[REQUEST_SESSION] = request.app.state.sessions()
    return session


SessionDep = Annotated[AsyncSession, Depends(request_session)]


async def verified_actor(request: Request) -> Actor:
    """The verified caller; the OpenAPI document declares the bearer scheme for every route."""
    checked = getattr(request.state, TOKEN_CHECK, None)  # verified once per request
    if isinstance(checked, Actor):
        return checked
    if isinstance(checked, AppError):
        raise checked
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send `Authorization: Bearer <token>`.")
    actor: Actor = await request.app.state.verifier.verify(token.strip())
    setattr(request.state, TOKEN_CHECK, actor)
    return actor


CurrentActor = Annotated[Actor, Depends(verified_actor)]


IdempotencyKey = Annotated[str | None, Header(
    min_length=1, max_length=200,
    description="Retry-safe creation: the same key and body return the same response.",
)]
