"""Partner registry use cases: register, read, suspend, rotate the signing secret."""

from datetime import datetime, timedelta
from typing import Any

from app.access import gate
from app.access.callers import Writer
from app.core.crypto import Keys
from app.core.db import utcnow
from app.core.pagination import fetch_page
from app.partners import repository
from app.partners.errors import PartnerNotFound
from app.partners.models import PREVIOUS_SECRET, SECRET, Partner
from app.partners.schemas import PartnerCreate, PartnerSecret, PartnerView
from app.partners.signing import new_secret

RESOURCE = "partner"


def is_active(partner: Partner, now: datetime) -> bool:
    """Not suspended, and today within the agreement's dates."""
    today = now.date()
    return (partner.suspended_at is None
            and partner.agreement_starts_on <= today <= partner.agreement_ends_on)


def view(partner: Partner, now: datetime | None = None) -> PartnerView:
    """The partner as the officer sees it (no secret)."""
    return PartnerView.model_validate(
        {**{c: getattr(partner, c) for c in PartnerView.model_fields if c != "active"},
         "active": is_active(partner, now or utcnow())})


def signing_secrets(partner: Partner, keys: Keys, now: datetime) -> list[str]:
    """The secrets that sign a notice now: the current one, and the previous in its grace."""
    found = [keys.cipher.decrypt(partner.secret_enc, context=SECRET, row_id=partner.id)]
    if (partner.previous_secret_enc and partner.previous_secret_until
            and partner.previous_secret_until > now):
        found.append(keys.cipher.decrypt(partner.previous_secret_enc, context=PREVIOUS_SECRET,
                                         row_id=partner.id))
    return found


async def _audit(caller: Writer, action: str, partner_id: str, fields: list[str]) -> None:
    await gate.record_write(caller, RESOURCE, action, subject_id=None, resource_id=partner_id,
                            fields=fields)


async def register(caller: Writer, payload: PartnerCreate) -> PartnerSecret:
    """Register a partner and issue its signing secret (returned this once)."""
    secret, now = new_secret(), utcnow()
    data = payload.model_dump()
    partner = Partner(**{**data, "webhook_url": str(payload.webhook_url)},
                      secret_enc=caller.keys.cipher.encrypt(secret, context=SECRET,
                                                            row_id=payload.id),
                      created_at=now, updated_at=now)
    await repository.add(caller.session, partner)
    await _audit(caller, "create", partner.id, sorted(data) + ["signing_secret"])
    return PartnerSecret(**view(partner, now).model_dump(), signing_secret=secret)


async def _get(caller: Writer, partner_id: str, *, for_update: bool = False) -> Partner:
    partner = await repository.get(caller.session, partner_id, for_update=for_update)
    if partner is None:
        raise PartnerNotFound()
    return partner


async def read(caller: Writer, partner_id: str) -> PartnerView:
    """One registered partner."""
    return view(await _get(caller, partner_id))


async def list_partners(caller: Writer, *, kind: str | None, cursor: str | None,
                        limit: int) -> dict[str, Any]:
    """A page of registered partners, oldest first."""
    rows, following = await fetch_page(caller.session, repository.listed(kind),
                                       Partner.created_at, Partner.id, cursor=cursor,
                                       limit=limit)
    now = utcnow()
    return {"items": [view(p, now) for p in rows], "next_cursor": following}


async def suspend(caller: Writer, partner_id: str) -> PartnerView:
    """Suspend a partner: its tokens are refused at once and orders may no longer name it."""
    await _get(caller, partner_id)
    now = utcnow()
    await repository.suspend(caller.session, partner_id, now)
    await _audit(caller, "suspend", partner_id, ["suspended_at"])
    return view(await _get(caller, partner_id))


async def rotate_secret(caller: Writer, partner_id: str, *, grace: timedelta) -> PartnerSecret:
    """Issue a new signing secret; the old one keeps signing for `grace` as well."""
    partner = await _get(caller, partner_id, for_update=True)
    cipher, now, secret = caller.keys.cipher, utcnow(), new_secret()
    previous = cipher.decrypt(partner.secret_enc, context=SECRET, row_id=partner.id)
    partner.previous_secret_enc = cipher.encrypt(previous, context=PREVIOUS_SECRET,
                                                 row_id=partner.id)
    partner.previous_secret_until = now + grace
    partner.secret_enc = cipher.encrypt(secret, context=SECRET, row_id=partner.id)
    partner.updated_at = now
    await caller.session.flush()
    await _audit(caller, "rotate_secret", partner_id, ["signing_secret"])
    return PartnerSecret(**view(partner, now).model_dump(), signing_secret=secret)
