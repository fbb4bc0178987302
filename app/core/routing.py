"""Routes with one transaction per request, and the routers that make them."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

REQUEST_SESSION = "privacy.session"
"""The scope key of the request's session: None until a dependency first asks for it."""


class TransactionalRoute(APIRoute):
    """A route whose request has one transaction: its session is made when a dependency first
    asks for it, committed if the route succeeds and rolled back if not, before the response
    is sent. A route that never asks (the lean reads) costs nothing here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            request.scope[REQUEST_SESSION] = None
            try:
                response = await handle(request)
            except BaseException:
                await _finish(request.scope[REQUEST_SESSION], succeeded=False)
                raise
            await _finish(request.scope[REQUEST_SESSION], succeeded=True)
            return response

        return handler


async def _finish(session: AsyncSession | None, *, succeeded: bool) -> None:
    """Commit or roll back the session's transaction, if it has one (else it holds no
    connection: it never began, or the route ended it itself)."""
    if session is None or not session.in_transaction():
        return
    try:
        await (session.commit() if succeeded else session.rollback())
    except BaseException:
        await session.close()  # a failed commit still gives its connection back
        raise


def api_router(**options: Any) -> APIRouter:
    """An `APIRouter` whose routes are transactional (every router of this app is one)."""
    return APIRouter(route_class=TransactionalRoute, **options)
