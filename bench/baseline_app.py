"""The bare read the service is measured against: FastAPI + SQLAlchemy ORM; no auth, policy, audit.

It reads the same `PRIVACY_*` settings as the service, so it uses the same database, driver and
pool size, and for each scenario selects the same rows as the service, returning their stored
columns (ciphertext included, nothing decrypted) as JSON through FastAPI's default encoder:
- `GET /v1/customers/{id}`: the customer row;
- `GET /v1/orders/{order_number}`: the order row and its items (`selectinload`);
- `GET /v1/customers/{id}/access-log`: the customer's newest 50 audit entries.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from app.audit.models import AuditEntry
from app.core.config import Settings
from app.identity.models import Customer
from app.orders.models import Order

PAGE = 50


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the engine at startup, as the service does, and dispose of it at shutdown."""
    settings = Settings()
    pool = {} if settings.is_sqlite else {"pool_size": settings.db_pool_size, "max_overflow": 5}
    engine = create_async_engine(settings.database_url, **pool)
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(title="Bare reads", lifespan=lifespan)


@app.get("/v1/customers/{customer_id}")
async def read_customer(customer_id: str, request: Request) -> dict:
    """One customer row by id, its columns as stored (ciphertext included)."""
    async with request.app.state.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None:
        raise HTTPException(status_code=404)
    return _columns(customer)


@app.get("/v1/orders/{order_number}")
async def read_order(order_number: str, request: Request) -> dict:
    """One order row by number with its items, as stored."""
    async with request.app.state.sessions() as session:
        order = await session.scalar(select(Order).where(Order.order_number == order_number)
                                     .options(selectinload(Order.items)))
    if order is None:
        raise HTTPException(status_code=404)
    return {**_columns(order), "items": [_columns(item) for item in order.items]}


@app.get("/v1/customers/{customer_id}/access-log")
async def read_access_log(customer_id: str, request: Request) -> dict:
    """The customer's newest audit entries, as stored."""
    async with request.app.state.sessions() as session:
        entries = (await session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == customer_id)
            .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(PAGE + 1))).all()
    return {"items": [_columns(entry) for entry in entries[:PAGE]]}

