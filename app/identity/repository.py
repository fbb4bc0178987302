"""Customer queries, always scoped to what the caller may see."""

from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import Actor
from app.identity.errors import EmailTaken
from app.identity.models import Customer
from app.policy.roles import PARTNER_ROLES, Role


@lru_cache
def _scoped(role: Role) -> Select[Customer]:
    """Customers a role may see: a customer only itself (`:actor_sub`), partners none."""
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    if role is Role.CUSTOMER:
        return stmt.where(Customer.id == bindparam("actor_sub"))
    if role in PARTNER_ROLES:
        return stmt.where(false())
    return stmt


@lru_cache
def _one(role: Role) -> Select[Customer]:
    return _scoped(role).where(Customer.id == bindparam("customer_id"))


@lru_cache
def _one_id(role: Role) -> Select[str]:
    return _one(role).with_only_columns(Customer.id)


def visible_customer(actor: Actor, customer_id: str) -> tuple[Select[str], dict[str, Any]]:
    """A reusable statement finding one customer's id if this actor may see it, and its
    parameters."""
    return _one_id(actor.role), {"actor_sub": actor.sub, "customer_id": customer_id}


def readable_customers(actor: Actor) -> Select[Customer]:
    """Customers this actor may see."""
    return _scoped(actor.role).params(actor_sub=actor.sub)


def readable_customer(actor: Actor, customer_id: str) -> tuple[Select[Customer],
                                                                   dict[str, Any]]:
    """A reusable statement reading one customer if this actor may see it, and its parameters."""
    return _one(actor.role), {"actor_sub": actor.sub, "customer_id": customer_id}


def visible_ids(actor: Actor) -> Select[str]:
    """Ids of the customers this actor may see, as a subquery."""
    return readable_customers(actor).with_only_columns(Customer.id)


async def get_readable(session: AsyncSession, actor: Actor, customer_id: str) -> Customer | None:
    """One customer, if this actor may see it."""
    stmt, params = readable_customer(actor, customer_id)
    customer: Customer | None = await session.scalar(stmt, params)
    return customer


def by_email_index(actor: Actor, index: str) -> Select[Customer]:
    """The customer whose email has this blind index, if this actor may see it."""
    return readable_customers(actor).where(Customer.email_index == index)


async def save(session: AsyncSession, customer: Customer) -> Customer:
    """Store a new or changed customer; raise `EmailTaken` if another has the same email."""
    session.add(customer)
    try:
        await session.flush()
    except IntegrityError:
        raise EmailTaken() from None
    return customer
