"""Customer queries, always scoped to what the caller may see."""

from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Actor
from app.identity.errors import EmailTaken
from app.identity.models import Customer
from app.policy.roles import PARTNER_ROLES, Role


def readable_customers(actor: Actor) -> Select[tuple[Customer]]:
    """Customers this actor may see: a customer only itself, partners none."""
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    if actor.role is Role.CUSTOMER:
        return stmt.where(Customer.id == actor.sub)
    if actor.role in PARTNER_ROLES:
        return stmt.where(false())
    return stmt


async def get_readable(session: AsyncSession, actor: Actor, customer_id: str) -> Customer | None:
    """One customer, if this actor may see it."""
    return await session.scalar(readable_customers(actor).where(Customer.id == customer_id))


async def find_by_email_index(session: AsyncSession, actor: Actor, index: str) -> Customer | None:
    """The customer whose email has this blind index, if this actor may see it."""
    return await session.scalar(readable_customers(actor).where(Customer.email_index == index))


async def save(session: AsyncSession, customer: Customer) -> Customer:
    """Store a new or changed customer; raise `EmailTaken` if another has the same email."""
    session.add(customer)
    try:
        await session.flush()
    except IntegrityError:
        raise EmailTaken() from None
    return customer
