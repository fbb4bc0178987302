"""What other domains may use of partners: who is active, and notices to partners."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.security import Actor
from app.partners import repository
from app.partners.errors import PartnerNotActive, PartnerNotUsable
from app.partners.models import PartnerKind, WebhookEvent
from app.partners.notices import (
    confirm_destruction,
    request_destruction,
    tell_partners,
)
from app.policy.roles import Role

__all__ = ["PartnerKind", "WebhookEvent", "confirm_destruction", "ensure_active",
           "ensure_token_partner", "request_destruction", "tell_partners"]

ROLE_KIND = {Role.LOGISTICS_PARTNER: PartnerKind.LOGISTICS,
             Role.PAYMENT_PARTNER: PartnerKind.PAYMENT}


async def ensure_active(session: AsyncSession, partner_id: str, kind: PartnerKind) -> None:
    """Raise 422 unless `partner_id` is an active partner of `kind` (one indexed lookup)."""
    found = await repository.active_kind(session, partner_id, utcnow().date())
    if found is None:
        raise PartnerNotUsable(f"Partner {partner_id!r} is not an active registered partner.")
    if found != kind:
        raise PartnerNotUsable(f"Partner {partner_id!r} is a {found} partner, not {kind}.",
                               code="partner_kind_mismatch")


async def ensure_token_partner(session: AsyncSession, actor: Actor) -> None:
    """Raise 403 `partner_not_active` unless a partner token speaks for an active partner
    of its role's kind; other roles pass untouched."""
    kind = ROLE_KIND.get(actor.role)
    if kind is None:
        return
    found = await repository.active_kind(session, actor.partner_id or "", utcnow().date())
    if found != kind:
        raise PartnerNotActive()
