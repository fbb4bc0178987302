"""Retry-safe creating POSTs: the same `Idempotency-Key` and body give the same response."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow
from app.core.errors import Conflict, Unprocessable
from app.core.security import Actor


class IdempotencyRecord(Base):
    """The response once given to a creating request, kept under its key."""

    __tablename__ = "idempotency_record"

    actor_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKeyReused(Unprocessable):
    code, title = "idempotency_key_reused", "Idempotency key reused"


class IdempotencyKeyInUse(Conflict):
    code, title = "idempotency_key_in_use", "Idempotency key in use"


def _fingerprint(path: str, payload: BaseModel) -> str:
    return hashlib.sha256(f"{path}\n{payload.model_dump_json()}".encode()).hexdigest()


async def once(
    session: AsyncSession, actor: Actor, key: str | None, *, path: str, payload: BaseModel,
    status_code: int, create: Callable[[], Awaitable[BaseModel]],
) -> BaseModel | JSONResponse:
    """Run `create` once per key; replay its stored response for a retry with the same body."""
    if key is None:
        return await create()
    actor_id = actor.partner_id or actor.sub
    fingerprint = _fingerprint(path, payload)
    try:
        async with session.begin_nested():
            session.add(IdempotencyRecord(actor_id=actor_id, key=key, fingerprint=fingerprint))
    except IntegrityError:
        stored = await session.get(IdempotencyRecord, (actor_id, key), populate_existing=True)
        assert stored is not None  # the insert clashed with this very row
        if stored.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request.") from None
        if stored.response is None:
            raise IdempotencyKeyInUse("A request with this key is still in progress.") from None
        assert stored.status_code is not None  # stored together with the response
        return JSONResponse(stored.response, status_code=stored.status_code,
                            headers={"Idempotent-Replayed": "true"})
    result = await create()
    record = await session.get(IdempotencyRecord, (actor_id, key))
    assert record is not None  # added above, in this transaction
    record.status_code, record.response = status_code, result.model_dump(mode="json")
    await session.flush()
    return result
