"""Reading a customer's access log, itself audited."""

from app.audit import repository
from app.core.access import allowed_fields, audit_read
from app.core.deps import Caller
from app.identity.service import readable
from app.policy.purposes import Resource


async def access_log(caller: Caller, customer_id: str, *, cursor: str | None, limit: int
                     ) -> dict:
    """A page of the entries about one customer, newest first."""
    fields = allowed_fields(caller, Resource.ACCESS_LOG)
    await readable(caller, customer_id)
    rows, next_cursor = await repository.access_log(caller.session, customer_id,
                                                    cursor=cursor, limit=limit)
    await audit_read(caller, Resource.ACCESS_LOG, [(customer_id, None, fields)])
    return {"items": [{f: getattr(row, f) for f in fields} for row in rows],
            "next_cursor": next_cursor}
