"""The roles a token can carry."""

from enum import StrEnum


class Role(StrEnum):
    """Who is calling, as stated by the token's `role` claim."""

    STOREFRONT = "storefront"
    CUSTOMER = "customer"
    SUPPORT_AGENT = "support_agent"
    FRAUD_ANALYST = "fraud_analyst"
    LOGISTICS_PARTNER = "logistics_partner"
    PAYMENT_PARTNER = "payment_partner"
    PRIVACY_OFFICER = "privacy_officer"
    ANALYST = "analyst"


PARTNER_ROLES = frozenset({Role.LOGISTICS_PARTNER, Role.PAYMENT_PARTNER})
