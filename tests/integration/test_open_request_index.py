"""One open request per customer and type is the database's rule (a partial unique index)."""

from sqlalchemy import func, select

from app.policy.roles import Role
from app.requests import repository
from app.requests.models import PrivacyRequest
from tests.factories import create_customer


def _request(customer_id: str, type_: str, state: str = "awaiting_verification"
             ) -> PrivacyRequest:
    return PrivacyRequest(customer_id=customer_id, type=type_, state=state, code_attempts=0,
                          filed_by_role="customer", filed_by_id=customer_id)


async def test_a_second_open_request_of_a_type_is_refused_by_the_database(client, auth, app,
                                                                          session):
    customer_id = await create_customer(client, headers=auth(Role.STOREFRONT))
    async with app.state.sessions() as db:
        assert await repository.insert_open(db, _request(customer_id, "access"))
        assert not await repository.insert_open(db, _request(customer_id, "access", "verified"))
        assert await repository.insert_open(db, _request(customer_id, "deletion"))
        assert await repository.insert_open(db, _request(customer_id, "access", "rejected"))
        assert await repository.insert_open(db, _request(customer_id, "access", "completed"))
        await db.commit()
    stored = (await session.execute(
        select(PrivacyRequest.type, PrivacyRequest.state, func.count())
        .where(PrivacyRequest.customer_id == customer_id)
        .group_by(PrivacyRequest.type, PrivacyRequest.state)
        .order_by(PrivacyRequest.type, PrivacyRequest.state))).all()
    assert stored == [("access", "awaiting_verification", 1), ("access", "completed", 1),
                      ("access", "rejected", 1), ("deletion", "awaiting_verification", 1)]
