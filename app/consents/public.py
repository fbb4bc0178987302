"""What other domains may use of consents: who withdrew, standings, withdrawal, erasure."""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.consents import repository
from app.consents.models import ConsentEvent
from app.consents.readers import CONSENTS, ConsentStanding, standings
from app.consents.schemas import ConsentState

__all__ = ["CONSENTS", "ConsentState", "erase", "records_of", "withdraw", "withdrawn_among"]


async def withdrawn_among(session: AsyncSession, purpose: str, customer_ids: Iterable[str]
                          ) -> set[str]:
    """Those customers whose latest event for `purpose` is a withdrawal."""
    return await repository.withdrawn_among(session, purpose, customer_ids)


def records_of(customer_id: str) -> Callable[[AsyncSession], Awaitable[Sequence[ConsentStanding]]]:
    """A fetch of the customer's consent standings (the caller was scoped before)."""

    async def fetch(session: AsyncSession) -> Sequence[ConsentStanding]:
        return standings(customer_id, await repository.history(session, customer_id))

    return fetch


async def withdraw(session: AsyncSession, customer_id: str, purposes: Iterable[str], *,
                   by_role: str) -> None:
    """Record withdrawals; they take effect for the very next read."""
    for purpose in purposes:
        await repository.add(session, ConsentEvent(customer_id=customer_id, purpose=purpose,
                                                   granted=False, changed_by_role=by_role))


async def erase(session: AsyncSession, customer_id: str, *, limit: int) -> int:
    """Remove up to `limit` events of the customer's consent history; return how many went."""
    chosen = select(ConsentEvent.id).where(ConsentEvent.customer_id == customer_id).limit(limit)
    done = await session.execute(delete(ConsentEvent).where(ConsentEvent.id.in_(chosen))
                                 .execution_options(synchronize_session=False))
    return cast(CursorResult[Any], done).rowcount
