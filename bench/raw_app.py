"""The raw anchor: FastAPI routes over a bare asyncpg pool, no ORM, no auth, policy or audit.

Same routes, same rows and same pool size as the bare ORM read (`baseline_app.py`), but each
read is one prepared statement (asyncpg caches it per connection) whose record is turned into
JSON with `json.dumps` and returned as a ready `Response`: no SQLAlchemy, no response model, no
`jsonable_encoder`. Stored columns are returned as stored (ciphertext, nothing decrypted).
PostgreSQL only.
"""

import json
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import make_url

from app.core.config import Settings

PAGE = 50
CUSTOMER = "SELECT * FROM customer WHERE id = $1"
ORDER = "SELECT * FROM shop_order WHERE order_number = $1"
ITEMS = "SELECT * FROM order_item WHERE order_id = $1 ORDER BY position"
ACCESS_LOG = ("SELECT * FROM audit_entry WHERE subject_id = $1 "
              f"ORDER BY occurred_at DESC, id DESC LIMIT {PAGE + 1}")


def _json(value) -> Response:
    return Response(json.dumps(value, default=str), media_type="application/json")


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the pool at startup and close it at shutdown."""
    settings = Settings()
    if settings.is_sqlite:
        raise RuntimeError("the raw asyncpg anchor needs PostgreSQL")
    dsn = make_url(settings.database_url).set(drivername="postgresql")
    app.state.pool = await asyncpg.create_pool(dsn.render_as_string(hide_password=False),
                                               min_size=settings.db_pool_size,
                                               max_size=settings.db_pool_size + 5)
    yield
    await app.state.pool.close()


app = FastAPI(title="Raw asyncpg reads", lifespan=lifespan)


@app.get("/v1/customers/{customer_id}")
async def read_customer(customer_id: str, request: Request) -> Response:
    """One customer row by id, as stored."""
    row = await request.app.state.pool.fetchrow(CUSTOMER, customer_id)
    return Response(status_code=404) if row is None else _json(dict(row))


@app.get("/v1/orders/{order_number}")
async def read_order(order_number: str, request: Request) -> Response:
    """One order row by number with its items, as stored."""
    async with request.app.state.pool.acquire() as connection:
        order = await connection.fetchrow(ORDER, order_number)
        if order is None:
            return Response(status_code=404)
        items = await connection.fetch(ITEMS, order["id"])
    return _json({**order, "items": [dict(item) for item in items]})


@app.get("/v1/customers/{customer_id}/access-log")
async def read_access_log(customer_id: str, request: Request) -> Response:
    """The customer's newest audit entries, as stored."""
    entries = await request.app.state.pool.fetch(ACCESS_LOG, customer_id)
    return _json({"items": [dict(entry) for entry in entries[:PAGE]]})
