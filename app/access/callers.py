"""Who acts in a request: a writer changes data; a reader has named why it reads."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crypto import Keys
from app.core.security import Actor
from app.policy.purposes import Purpose


@dataclass(frozen=True, slots=True)
class Writer:
    """A verified caller changing data; it names no purpose."""

    session: AsyncSession
    actor: Actor
    keys: Keys


@dataclass(frozen=True, slots=True)
class Reader(Writer):
    """A verified caller that named a purpose its role may use; it may also write."""

    purpose: Purpose
