"""A client's X-Request-ID reaches the audit only when short and plain; else it is replaced."""

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.policy.roles import Role
from tests.factories import customer_payload


@pytest.mark.parametrize("given", [
    "x" * 65, "a b", "id\x00nul", "id;drop", "ünïcode", "../../etc", "id\tx", "",
], ids=repr)
async def test_unfit_request_ids_are_replaced_before_the_audit(client, auth, session, given):
    headers = auth(Role.STOREFRONT) | {"X-Request-ID": given.encode()}
    response = await client.post("/v1/customers", headers=headers, json=customer_payload())
    assert response.status_code == 201
    replaced = response.headers["x-request-id"]
    assert replaced != given and len(replaced) == 32
    stored = (await session.scalars(select(AuditEntry.request_id))).all()
    assert stored and set(stored) == {replaced}


async def test_a_fit_request_id_is_kept_in_the_audit(client, auth, session):
    given = "shop-7.Trace_" + "9" * 51
    response = await client.post("/v1/customers", json=customer_payload(),
                                 headers=auth(Role.STOREFRONT) | {"X-Request-ID": given})
    assert response.headers["x-request-id"] == given
    assert set((await session.scalars(select(AuditEntry.request_id))).all()) == {given}
