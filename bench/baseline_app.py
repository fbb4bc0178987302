"""The bare read the service is measured against: FastAPI + SQLAlchemy, no auth, policy or audit.

It reads the same `PRIVACY_*` settings as the service, so it uses the same database, driver and
pool size, selects the same customer row by id and returns its stored columns as JSON.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.core.config import Settings
from app.identity.models import Customer

COLUMNS = tuple(column.key for column in Customer.__table__.columns)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the engine at startup, as the service does, and dispose of it at shutdown."""
    settings = Settings()
    pool = {} if settings.is_sqlite else {"pool_size": settings.db_pool_size, "max_overflow": 5}
    engine = create_async_engine(settings.database_url, **pool)
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    yield
    await engine.dispose()


app = FastAPI(title="Bare customer read", lifespan=lifespan)


@app.get("/v1/customers/{customer_id}")
async def read_customer(customer_id: str, request: Request) -> dict:
    """One customer row by id, its columns as stored (ciphertext included)."""
    async with request.app.state.sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None:
        raise HTTPException(status_code=404)
    return {name: getattr(customer, name) for name in COLUMNS}
