"""Set-based seeding for the rights benchmark: ordinary customers, and a few customers with a
long history (many orders, many audit entries), on PostgreSQL.

The ordinary customers come from `scale_seed.py` (one address, two orders of two items each,
encrypted for real). Each long-history customer is numbered after them (so the reads of the
ordinary customers never touch one) and gets one address, `orders` orders of two items each
(mostly delivered, a few cancelled, the last ten still on their way) and `audit_rows` sealed
audit entries about them. Everything is `INSERT ... SELECT ... FROM generate_series(...)`; the
pooled ciphertexts are then bound to their rows as `scale_seed.bind_to_rows` does.
"""

import time

import asyncpg
from scale_seed import (
    ADDRESSES_SQL,
    AUDIT_SQL,
    CHUNK_ROWS,
    CUSTOMERS_SQL,
    ITEMS_SQL,
    ORDER_INSERT,
    ORDERS_SQL,
    _chunked,
    _pools,
    _sql,
    _without_indexes,
    bind_to_rows,
    customer_id,
)

from app.core.crypto import Keys

IN_TRANSIT = 10
"""The last orders of a long-history customer that are still placed or shipped."""

HISTORY_ORDERS_SQL = ORDER_INSERT + """
FROM generate_series($1::int, $2::int) AS n, generate_series(0, {last}) AS k,
     LATERAL (SELECT CASE WHEN k > {last} - {in_transit}
                          THEN (ARRAY['placed', 'shipped'])[1 + k % 2]
                          WHEN k % 50 = 0 THEN 'cancelled' ELSE 'delivered' END AS status,
                     now() - make_interval(hours => {last} + 1 - k) AS placed) AS s
"""

HISTORY_ITEMS_SQL = """
INSERT INTO order_item (id, order_id, position, product_name, quantity, unit_price)
SELECT md5('t' || o.id || '-' || p)::uuid::text, o.id, p,
       (ARRAY['Dog chew rope', 'Plush cat bed'])[1 + p], 1 + p, (ARRAY[4.50, 19.80])[1 + p]
FROM shop_order AS o, generate_series(0, 1) AS p
WHERE o.customer_id = md5('c' || $1::int)::uuid::text
"""

HISTORY_AUDIT_SQL = """
INSERT INTO audit_entry (id, occurred_at, actor_id, actor_role, purpose, action, subject_id,
                         resource, resource_id, fields, request_id, entry_mac, seq, chain_hash)
SELECT md5('e' || i)::uuid::text, now() - make_interval(secs => ($3::bigint - i) * 3),
       'agent-7', 'support_agent', 'service', 'read', md5('c' || $4::int)::uuid::text,
       (ARRAY['customer', 'order'])[1 + i % 2], md5('c' || $4::int)::uuid::text,
       '["created_at","email","id","name","phone","updated_at"]'::json,
       md5('r' || i), md5('h' || i) || md5('x' || i), i, md5('l' || i) || md5('y' || i)
FROM generate_series($1::bigint, $2::bigint) AS i
"""


async def fill(dsn: str, keys: Keys, *, customers: int, audit_rows: int, histories: int,
               orders: int, history_audit_rows: int) -> list[str]:
    """Fill a freshly migrated database; return the ids of the long-history customers."""
    pools = _pools(keys)
    connection = await asyncpg.connect(dsn)
    chunk = CHUNK_ROWS // 5
    try:
        await connection.execute("SET synchronous_commit = off; "
                                 "SET maintenance_work_mem = '512MB'")
        everyone = customers + histories
        for label, template in (("customers", CUSTOMERS_SQL), ("addresses", ADDRESSES_SQL)):
            sql, extra = _sql(template, pools)
            await _chunked(connection, label, sql, everyone, extra, chunk=chunk)
        sql, extra = _sql(ORDERS_SQL, pools)
        await _chunked(connection, "ordinary customers' orders (2 each)", sql, customers, extra,
                       chunk=chunk)
        await _chunked(connection, "ordinary customers' order items (4 each)", ITEMS_SQL,
                       customers, [], chunk=chunk)
        sql, extra = _sql(HISTORY_ORDERS_SQL.replace("{last}", str(orders - 1))
                          .replace("{in_transit}", str(IN_TRANSIT)), pools)
        await _chunked(connection, f"long-history orders ({orders:,} each)", sql, histories,
                       extra, chunk=1, first=customers)
        started = time.monotonic()
        for n in range(customers, everyone):
            await connection.execute(HISTORY_ITEMS_SQL, n)
        print(f"  long-history order items: {2 * orders * histories:,} in "
              f"{time.monotonic() - started:.1f}s", flush=True)
        await bind_to_rows(connection, keys)
        total = audit_rows + histories * history_audit_rows

        async def audit() -> None:
            await _chunked(connection, "audit entries", AUDIT_SQL, audit_rows,
                           [total, customers], chunk=CHUNK_ROWS, first=1)
            for j in range(histories):
                first = audit_rows + j * history_audit_rows + 1
                await _chunked(connection, f"audit entries about long-history customer {j}",
                               HISTORY_AUDIT_SQL, history_audit_rows, [total, customers + j],
                               chunk=CHUNK_ROWS, first=first)

        await _without_indexes(connection, "audit_entry", audit)
        await connection.execute(
            "INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, $1, $2) "
            "ON CONFLICT (id) DO UPDATE SET last_seq = $1, last_hash = $2", total, "0" * 64)
        started = time.monotonic()
        await connection.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await connection.close()
    return [customer_id(n) for n in range(customers, customers + histories)]
