"""Policy factories: publish a version, add a customer without email, run the notices."""

from datetime import UTC, datetime, timedelta

from app.core.db import new_id, utcnow
from app.identity import readers as identity
from app.identity.models import Customer
from app.policies.notices import notify
from app.policy.roles import Role

FAST = 1_000_000.0  # notices per second: every notice due at once
PHONE_ONLY = "+4915112345678"


async def publish(client, auth, *, significant: bool = True) -> int:
    """Publish a version taking effect in 8 days through the API; return its number."""
    effective = (datetime.now(UTC) + timedelta(days=8)).isoformat()
    response = await client.post("/v1/policies", headers=auth(Role.PRIVACY_OFFICER), json={
        "label": "Payment partners", "text": "# Policy\n\nKlarna.",
        "summary": "We now share the order number with Klarna.", "significant": significant,
        "effective_at": effective})
    assert response.status_code == 201, response.text
    return response.json()["version"]


async def add_customer(app, *, phone: str | None = None, erased: bool = False) -> str:
    """A customer without email (as imported from the old shop), maybe with a phone."""
    cipher = app.state.keys.cipher
    async with app.state.sessions() as session, session.begin():
        customer_id = new_id()
        customer = Customer(id=customer_id, erased_at=utcnow() if erased else None,
                            name_enc=cipher.encrypt("Jonas Novak", context=identity.NAME,
                                                    row_id=customer_id),
                            phone_enc=cipher.encrypt_optional(phone, context=identity.PHONE,
                                                              row_id=customer_id))
        session.add(customer)
        await session.flush()
        return customer.id


async def run(app, version: int, **options) -> object:
    """Queue a version's notices, all due at once unless a rate is given."""
    options.setdefault("rate_per_second", FAST)
    return await notify(app.state.sessions, app.state.keys, version=version, **options)
