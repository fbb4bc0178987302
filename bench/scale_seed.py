"""Set-based PostgreSQL seeding: a million customers and ten million audit entries in minutes.

Every table is filled by `INSERT ... SELECT ... FROM generate_series(...)` inside PostgreSQL,
never row by row from Python. Personal values are encrypted for real with the app's generated
keys: a small pool of values (`POOL` per field) is encrypted once and reused across rows, then
every ciphertext is bound to its own row (the app binds ciphertext to table, column and row id)
in one batched pass, so every read decrypts real, row-bound AES-GCM values. Ids are derived
from the row number (`md5('c' || n)::uuid`), so the benchmark knows every id without reading
them back.

What is seeded, for `customers` = C:
- C customers (name, email, phone encrypted; the email blind index is a per-row placeholder, so
  lookups by email find nothing) with one shipping address each;
- 2 orders per customer (`BN-<n>-0`, `BN-<n>-1`), cycling through placed, shipped, delivered,
  cancelled, each with a copy of the address (encrypted) and 2 items;
- `audit_rows` audit entries, spread evenly over the customers, already sealed (`seq` 1..N, with
  placeholder hashes and the chain head after them): the sealer starts from the head and leaves
  them alone, but `verify` would not accept these made-up links;
- optionally `requests` privacy requests for the officer's lists (`fill_requests`): by default
  98 % completed, received over the last two years, and 2 % open (half awaiting verification,
  half verified), received over the last 40 days; each due 30 days after receipt, so a quarter
  of the open ones (0.5 % of all) are overdue;
- optionally complaints for the same lists (`fill_complaints`), in the same shape: answered
  ones over two years, `open_percent` % unanswered over the last `open_days` days, each due 5
  days after arrival (3 business days); their bodies are one column-bound ciphertext and the
  answers' text is left out (the lists show neither).
`fill_customers` seeds the customers alone, for benchmarks that need nothing else of theirs.
"""

import asyncio
import hashlib
import time
import uuid

import asyncpg

from app.core.crypto import Keys

POOL = 64
STATUSES = ("placed", "shipped", "delivered", "cancelled")
CHUNK_ROWS = 1_000_000
FIRST = ("Mei", "Jonas", "Amara", "Luis", "Sofia", "Kenji", "Noor", "Elif", "Tomas", "Ada")
LAST = ("Lin", "Schmidt", "Okafor", "Garcia", "Rossi", "Tanaka", "Haddad", "Yilmaz", "Novak")
PLACES = (("DE", "Berlin", "Berlin"), ("FR", None, "Lyon"), ("CN", "Guangdong", "Shenzhen"),
          ("US", "TX", "Austin"), ("NL", None, "Utrecht"), ("JP", "Tokyo", "Tokyo"))


def customer_id(n: int) -> str:
    """The id the seeder gives customer number `n` (the same expression as in SQL)."""
    return str(uuid.UUID(hashlib.md5(f"c{n}".encode()).hexdigest()))


def order_number(n: int, k: int) -> str:
    """The order number of customer `n`'s order `k`."""
    return f"BN-{n:07d}-{k}"


def order_status(n: int, k: int) -> str:
    """The fulfilment status the seeder gives order `k` of customer `n`."""
    return STATUSES[(n + k) % len(STATUSES)]


def _pools(keys: Keys) -> dict[str, list[str | None]]:
    """POOL ciphertexts per encrypted column, under the column's context (bound to rows later)."""
    enc = lambda value, context: keys.cipher.seal(value, context)  # noqa: E731
    pools: dict[str, list] = {key: [] for key in (
        "name", "email", "phone", "a_recipient", "a_phone", "a_street", "a_house", "a_postal",
        "o_recipient", "o_phone", "o_street", "o_house", "o_postal", "country", "state",
        "city")}
    for i in range(POOL):
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        name, phone = f"{first} {last}", f"+4930{1000000 + i * 7919}"
        street, house, postal = f"{LAST[(i + 3) % len(LAST)]}strasse", str(1 + i), f"{10000 + i}"
        country, state, city = PLACES[i % len(PLACES)]
        pools["name"].append(enc(name, context="customer.name"))
        pools["email"].append(enc(f"{first}.{last}.{i}@example.com".lower(),
                                  context="customer.email"))
        pools["phone"].append(enc(phone, context="customer.phone") if i % 5 else None)
        for prefix, table in (("a", "shipping_address"), ("o", "shop_order.ship")):
            for column, value in (("recipient", name), ("phone", phone), ("street", street),
                                  ("house", house), ("postal", postal)):
                context = {"recipient": "recipient_name", "house": "house_number",
                           "postal": "postal_code"}.get(column, column)
                joiner = "_" if prefix == "o" else "."
                pools[f"{prefix}_{column}"].append(enc(value, context=f"{table}{joiner}{context}"))
        pools["country"].append(country)
        pools["state"].append(state)
        pools["city"].append(city)
    return pools


CUSTOMERS_SQL = """
INSERT INTO customer (id, name_enc, email_enc, email_index, phone_enc, created_at, updated_at)
SELECT md5('c' || n)::uuid::text, {name}, {email}, md5('e' || n) || md5('i' || n), {phone},
       now() - make_interval(days => 1 + n % 900), now() - make_interval(days => 1 + n % 900)
FROM generate_series($1::int, $2::int) AS n
"""

ADDRESSES_SQL = """
INSERT INTO shipping_address (id, customer_id, recipient_name_enc, phone_enc, country, state,
                              city, street_enc, house_number_enc, postal_code_enc, created_at,
                              updated_at)
SELECT md5('a' || n)::uuid::text, md5('c' || n)::uuid::text, {a_recipient}, {a_phone}, {country},
       {state}, {city}, {a_street}, {a_house}, {a_postal},
       now() - make_interval(days => 1 + n % 900), now() - make_interval(days => 1 + n % 900)
FROM generate_series($1::int, $2::int) AS n
"""

ORDER_INSERT = """
INSERT INTO shop_order (id, order_number, customer_id, shipping_address_id,
    ship_recipient_name_enc, ship_phone_enc, ship_country, ship_state, ship_city,
    ship_street_enc, ship_house_number_enc, ship_postal_code_enc, total_amount, currency,
    payment_method, payment_status, fulfilment_status, logistics_partner_id,
    payment_partner_id, placed_at, shipped_at, delivered_at, cancelled_at, created_at,
    updated_at, erase_ship_to_on_arrival)
SELECT md5('o' || n || '-' || k)::uuid::text, 'BN-' || lpad(n::text, 7, '0') || '-' || k,
       md5('c' || n)::uuid::text, md5('a' || n)::uuid::text, {o_recipient}, {o_phone},
       {country}, {state}, {city}, {o_street}, {o_house}, {o_postal}, 24.30, 'EUR', 'visa',
       'paid', s.status, 'swiftship', 'paypal', placed,
       CASE WHEN s.status IN ('shipped', 'delivered') THEN placed + interval '1 day' END,
       CASE WHEN s.status = 'delivered' THEN placed + interval '3 days' END,
       CASE WHEN s.status = 'cancelled' THEN placed + interval '2 hours' END,
       placed, placed, false
"""
"""The INSERT of orders and its SELECT list; a FROM clause gives `n` (the customer), `k` (the
order) and `s` (its `status` and `placed` time)."""

ORDERS_SQL = ORDER_INSERT + """
FROM generate_series($1::int, $2::int) AS n, generate_series(0, 1) AS k,
     LATERAL (SELECT (ARRAY['placed', 'shipped', 'delivered', 'cancelled'])[1 + (n + k) % 4]
              AS status, now() - make_interval(days => 1 + (n + k) % 60) AS placed) AS s
"""

ITEMS_SQL = """
INSERT INTO order_item (id, order_id, position, product_name, quantity, unit_price)
SELECT md5('t' || n || '-' || k || '-' || p)::uuid::text, md5('o' || n || '-' || k)::uuid::text,
       p, (ARRAY['Dog chew rope', 'Plush cat bed'])[1 + p], 1 + p, (ARRAY[4.50, 19.80])[1 + p]
FROM generate_series($1::int, $2::int) AS n, generate_series(0, 1) AS k,
     generate_series(0, 1) AS p
"""

AUDIT_SQL = """
INSERT INTO audit_entry (id, occurred_at, actor_id, actor_role, purpose, action, subject_id,
                         resource, resource_id, fields, request_id, entry_mac, seq, chain_hash)
SELECT md5('e' || i)::uuid::text, now() - make_interval(secs => ($3::bigint - i) * 3),
       'agent-7', 'support_agent', 'service', 'read', md5('c' || (i % $4::int))::uuid::text,
       'customer', md5('c' || (i % $4::int))::uuid::text,
       '["created_at","email","id","name","phone","updated_at"]'::json,
       md5('r' || i), md5('h' || i) || md5('x' || i), i, md5('l' || i) || md5('y' || i)
FROM generate_series($1::bigint, $2::bigint) AS i
"""

REQUESTS_SQL = """
INSERT INTO privacy_request (id, customer_id, type, state, received_at, verified_at, verified_by,
                             due_at, completed_at, code_attempts, filed_by_role, filed_by_id)
SELECT md5('q' || i)::uuid::text, md5('c' || (i % $3::int))::uuid::text,
       (ARRAY['access', 'correction', 'deletion', 'consent_withdrawal'])[1 + i % 4], s.state,
       s.received, s.received + interval '1 hour', 'customer',
       s.received + interval '30 days',
       CASE WHEN s.state = 'completed' THEN s.received + interval '5 days' END,
       0, 'customer', md5('c' || (i % $3::int))::uuid::text
FROM generate_series($1::int, $2::int) AS i,
     LATERAL (SELECT CASE WHEN i % 100 >= $4::int THEN 'completed'
                          WHEN i % 2 = 0 THEN 'awaiting_verification' ELSE 'verified' END
                     AS state,
                     now() - make_interval(mins => ((i::bigint * 7919)
                         % CASE WHEN i % 100 < $4::int THEN $5::int * 1440 ELSE 1051200 END)::int)
                     AS received) AS s
"""

COMPLAINTS_SQL = """
INSERT INTO complaint (id, customer_id, kind, body_enc, received_at, due_at, answered_at,
                       answered_by)
SELECT md5('k' || i)::uuid::text, md5('c' || (i % $3::int))::uuid::text,
       (ARRAY['complaint', 'inquiry'])[1 + i % 2], $6::text, s.received,
       s.received + interval '5 days',
       CASE WHEN s.answered THEN s.received + interval '2 days' END,
       CASE WHEN s.answered THEN 'agent-7' END
FROM generate_series($1::int, $2::int) AS i,
     LATERAL (SELECT i % 100 >= $4::int AS answered,
                     now() - make_interval(mins => ((i::bigint * 7919)
                         % CASE WHEN i % 100 < $4::int THEN $5::int * 1440 ELSE 1051200 END)::int)
                     AS received) AS s
"""


def _sql(template: str, pools: dict) -> tuple[str, list]:
    """The statement with each `{pool}` placeholder turned into an array parameter pick."""
    names = [name for name in pools if "{" + name + "}" in template]
    numbered = {name: f"(${3 + i}::text[])[1 + n % {POOL}]" for i, name in enumerate(names)}
    return template.format(**numbered), [pools[name] for name in names]


async def _chunked(connection: asyncpg.Connection, label: str, sql: str, total: int,
                   extra: list, *, chunk: int, first: int = 0) -> None:
    """Run `sql` over row numbers first .. first + total - 1, `chunk` numbers at a time."""
    started = time.monotonic()
    for start in range(first, first + total, chunk):
        end = min(start + chunk, first + total) - 1
        await connection.execute(sql, start, end, *extra)
    print(f"  {label}: {total:,} in {time.monotonic() - started:.1f}s", flush=True)


async def _without_indexes(connection: asyncpg.Connection, table: str, fill) -> None:
    """Run `fill` with `table`'s indexes and unique keys dropped, then build them again."""
    constraints = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype IN ('p', 'u')", table)
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)", table)
    for index in indexes:
        await connection.execute(f'DROP INDEX "{index["indexname"]}"')
    for constraint in constraints:
        await connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint["conname"]}"')
    await fill()
    started = time.monotonic()
    for constraint in constraints:
        await connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint["conname"]}" '
                                 f'{constraint["definition"]}')
    for index in indexes:  # on a partitioned table, ON ONLY would leave the partitions bare
        await connection.execute(index["indexdef"].replace(" ON ONLY ", " ON ", 1))
    print(f"  {table} indexes rebuilt in {time.monotonic() - started:.1f}s", flush=True)


async def fill_requests(connection: asyncpg.Connection, *, requests: int, customers: int,
                        open_percent: int = 2, open_days: int = 40) -> None:
    """Replace the privacy requests with `requests` seeded ones: `open_percent` % of them open,
    received over the last `open_days` days; the rest completed, over two years."""
    await connection.execute("DELETE FROM privacy_request")
    await _chunked(connection, "privacy requests", REQUESTS_SQL, requests,
                   [customers, open_percent, open_days], chunk=CHUNK_ROWS)


async def fill_complaints(connection: asyncpg.Connection, keys: Keys, *, complaints: int,
                          customers: int, open_percent: int = 2, open_days: int = 40) -> None:
    """Replace the complaints with `complaints` seeded ones: `open_percent` % of them
    unanswered, received over the last `open_days` days; the rest answered, over two years."""
    body = keys.cipher.seal("Where is my parcel?", "complaint.body")
    await connection.execute("DELETE FROM complaint")
    await _chunked(connection, "complaints", COMPLAINTS_SQL, complaints,
                   [customers, open_percent, open_days, body], chunk=CHUNK_ROWS)


async def fill_customers(connection: asyncpg.Connection, keys: Keys, *, customers: int) -> None:
    """Customers alone (numbered as in `fill`), their ciphertexts bound to the column only."""
    sql, extra = _sql(CUSTOMERS_SQL, _pools(keys))
    await _chunked(connection, "customers", sql, customers, extra, chunk=CHUNK_ROWS // 5)


async def fill(dsn: str, keys: Keys, *, customers: int, audit_rows: int = 0,
               requests: int = 0) -> None:
    """Fill a freshly migrated database; see the module docstring for what goes in."""
    pools = _pools(keys)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET synchronous_commit = off; "
                                 "SET maintenance_work_mem = '512MB'")
        chunk = CHUNK_ROWS // 5
        for label, template in (("customers", CUSTOMERS_SQL), ("addresses", ADDRESSES_SQL),
                                ("customers' orders (2 each)", ORDERS_SQL)):
            sql, extra = _sql(template, pools)
            await _chunked(connection, label, sql, customers, extra, chunk=chunk)
        await _chunked(connection, "customers' order items (4 each)", ITEMS_SQL, customers, [],
                       chunk=chunk)
        await bind_to_rows(connection, keys)
        if audit_rows:
            async def audit() -> None:
                await _chunked(connection, "audit entries", AUDIT_SQL, audit_rows,
                               [audit_rows, customers], chunk=CHUNK_ROWS, first=1)
            await _without_indexes(connection, "audit_entry", audit)
            await connection.execute(
                "INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, $1, $2) "
                "ON CONFLICT (id) DO UPDATE SET last_seq = $1, last_hash = $2",
                audit_rows, "0" * 64)
        if requests:
            await fill_requests(connection, requests=requests, customers=customers)
        started = time.monotonic()
        await connection.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        await connection.close()


ENCRYPTED = {  # table: columns `<name>_enc` encrypted under "table.name"
    "customer": ("name", "email", "phone"),
    "shipping_address": ("recipient_name", "phone", "street", "house_number", "postal_code"),
    "shop_order": ("ship_recipient_name", "ship_phone", "ship_street", "ship_house_number",
                   "ship_postal_code"),
}


async def bind_to_rows(connection: asyncpg.Connection, keys: Keys, *,
                       tables: dict[str, tuple[str, ...]] = ENCRYPTED, batch: int = 5000) -> None:
    """Re-encrypt each pooled ciphertext bound to its own row, batch by batch."""
    cipher = keys.cipher
    for table, names in tables.items():
        columns = [f"{name}_enc" for name in names]
        update = (f"UPDATE {table} SET " + ", ".join(f"{c} = ${i + 2}"
                                                    for i, c in enumerate(columns))
                  + " WHERE id = $1")
        started, last, done = time.monotonic(), "", 0
        while True:
            rows = await connection.fetch(
                f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > $1 ORDER BY id "
                f"LIMIT {batch}", last)
            if not rows:
                break
            await connection.executemany(update, [
                (row["id"], *(None if row[c] is None else cipher.encrypt(
                    cipher.open(row[c], f"{table}.{name}"), context=f"{table}.{name}",
                    row_id=row["id"]) for c, name in zip(columns, names, strict=True)))
                for row in rows])
            last, done = rows[-1]["id"], done + len(rows)
        print(f"  {table}: {done:,} rows bound to their ciphertexts in "
              f"{time.monotonic() - started:.1f}s", flush=True)


def seed_postgres(dsn: str, keys: Keys, **sizes: int) -> None:
    """Synchronous entry point of `fill`."""
    asyncio.run(fill(dsn, keys, **sizes))
