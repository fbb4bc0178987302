"""Consent errors."""

from app.core.errors import Forbidden, NotFound


class ConsentPurposeUnknown(NotFound):
    code = "consent_purpose_unknown"


class GrantNeedsCustomer(Forbidden):
    code = "consent_grant_needs_customer"
