"""Where consent to each consent-based purpose stands, folded from its events."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.access.sources import Source
from app.consents.models import ConsentEvent
from app.identity.public import CustomerNotFound
from app.policy.purposes import CONSENT_PURPOSES, Resource

DEFAULT_GRANTED = True  # order status notifications come with an order until withdrawn


@dataclass(frozen=True, slots=True)
class ConsentStanding:
    """One customer's consent to one purpose, and how it got there."""

    customer_id: str
    purpose: str
    granted: bool
    changed_at: datetime | None
    history: list[dict[str, Any]]


def standings(customer_id: str, events: Sequence[ConsentEvent]) -> list[ConsentStanding]:
    """Current consent per consent-based purpose, from the customer's events (oldest first)."""
    result = []
    for purpose in sorted(CONSENT_PURPOSES):
        mine = [e for e in events if e.purpose == purpose]
        result.append(ConsentStanding(
            customer_id=customer_id, purpose=purpose.value,
            granted=mine[-1].granted if mine else DEFAULT_GRANTED,
            changed_at=mine[-1].changed_at if mine else None,
            history=[{"granted": e.granted, "changed_at": e.changed_at,
                      "changed_by_role": e.changed_by_role, "policy_version": e.policy_version}
                     for e in mine]))
    return result


CONSENT_READERS = {
    "purpose": lambda s, k: s.purpose,
    "granted": lambda s, k: s.granted,
    "changed_at": lambda s, k: s.changed_at,
    "history": lambda s, k: s.history,
}

CONSENTS = Source(resource=Resource.CONSENT, readers=CONSENT_READERS,
                  subject=lambda s: s.customer_id, key=lambda s: f"consent:{s.purpose}",
                  not_found=CustomerNotFound)
