"""DESIGN's purpose table, as data: the one place that says who reads what for which purpose."""

from dataclasses import dataclass, field
from enum import StrEnum

from app.policy.roles import Role


class Purpose(StrEnum):
    """Why personal data is being read; sent in the `X-Purpose` header."""

    DELIVERY = "delivery"
    SERVICE = "service"
    FRAUD = "fraud"
    PAYMENT = "payment"
    SELF = "self"
    NOTIFICATIONS = "notifications"
    OVERSIGHT = "oversight"
    OPTIMISATION = "optimisation"


class Resource(StrEnum):
    """Kinds of personal data the service holds."""

    CUSTOMER = "customer"
    ADDRESS = "address"
    ORDER = "order"
    MESSAGE = "message"
    COMPLAINT = "complaint"
    CONSENT = "consent"
    ACCESS_LOG = "access_log"
    REQUEST = "request"
    AUDIT_ENTRY = "audit_entry"
    HOLD = "hold"
    ANALYTICS = "analytics"
    DISCLOSURE = "disclosure"
    POLICY_RECORD = "policy_record"
    LOCKOUT = "verification_lockout"


RESOURCE_FIELDS: dict[Resource, tuple[str, ...]] = {
    Resource.CUSTOMER: ("id", "customer_key", "name", "email", "phone", "created_at",
                        "updated_at"),
    Resource.ADDRESS: ("id", "customer_id", "recipient_name", "phone", "country", "state", "city",
                       "street", "house_number", "postal_code", "created_at", "updated_at"),
    Resource.ORDER: ("id", "order_number", "customer_id", "customer_key", "items", "total_amount",
                     "currency", "payment_method", "payment_status", "fulfilment_status",
                     "shipping_address", "shipping_region", "logistics_partner_id",
                     "payment_partner_id", "placed_at", "shipped_at", "delivered_at",
                     "cancelled_at", "ship_by", "deliver_from", "deliver_by"),
    Resource.MESSAGE: ("id", "customer_id", "order_number", "channel", "direction", "subject",
                       "body", "occurred_at", "created_at"),
    Resource.COMPLAINT: ("id", "customer_id", "kind", "subject", "body", "received_at", "due_at",
                         "answer", "answered_at", "answered_by", "overdue"),
    Resource.CONSENT: ("purpose", "granted", "changed_at", "history"),
    Resource.ACCESS_LOG: ("occurred_at", "actor_id", "actor_role", "purpose", "action",
                          "resource", "fields"),
    Resource.REQUEST: ("id", "customer_id", "type", "state", "received_at", "verified_at",
                       "verified_by", "due_at", "completed_at", "rejected_at",
                       "rejection_reason", "overdue", "outcome"),
    Resource.HOLD: ("id", "customer_id", "order_number", "reason", "reference", "until",
                    "placed_at", "placed_by", "lifted_at", "lifted_by", "active"),
    Resource.ANALYTICS: ("week", "country", "state", "city", "payment_method", "currency",
                         "orders", "total_amount", "average_delivery_days", "complaints"),
    Resource.DISCLOSURE: ("id", "customer_id", "authority", "legal_basis", "reference",
                          "fields", "disclosed_at", "notify_after", "notified_at",
                          "recorded_by"),
    Resource.POLICY_RECORD: ("version", "label", "event", "channel", "at", "state"),
    Resource.AUDIT_ENTRY: ("id", "occurred_at", "actor_id", "actor_role", "purpose", "action",
                           "subject_id", "resource", "resource_id", "fields", "request_id",
                           "seq"),
    Resource.LOCKOUT: ("id", "scope", "customer_id", "actor_role", "actor_id", "lockouts",
                       "locked_at", "locked_until", "locked"),
}
"""`analytics` is de-identified: aggregates over groups of at least k customers."""

COMPLAINT_STATUS = frozenset({"id", "customer_id", "kind", "received_at", "due_at",
                              "answered_at", "answered_by", "overdue"})
"""A complaint without its text: what oversight of deadlines needs."""

ORDER_TIMES = frozenset({"placed_at", "shipped_at", "delivered_at", "cancelled_at"})
DELIVERY_PROMISES = frozenset({"ship_by", "deliver_from", "deliver_by"})
"""The promised ship-by date and delivery window: for delivery, service and self."""
PSEUDONYMOUS = frozenset({"customer_key", "shipping_region"})


def _all(resource: Resource, *, without: frozenset[str] = PSEUDONYMOUS) -> frozenset[str]:
    return frozenset(RESOURCE_FIELDS[resource]) - without


@dataclass(frozen=True)
class PurposeRule:
    """One row of the purpose table."""

    purpose: Purpose
    roles: frozenset[Role]
    fields: dict[Resource, frozenset[str]]
    hidden_from: dict[Role, frozenset[str]] = field(default_factory=dict)
    sealed_when_delivered: frozenset[str] = frozenset()
    gone_when_delivered_for: frozenset[Role] = frozenset()
    consent_based: bool = False


PURPOSE_TABLE: dict[Purpose, PurposeRule] = {
    rule.purpose: rule
    for rule in (
        PurposeRule(
            purpose=Purpose.DELIVERY,
            roles=frozenset({Role.STOREFRONT, Role.LOGISTICS_PARTNER}),
            fields={
                Resource.CUSTOMER: frozenset({"id", "name", "phone", "email"}),
                Resource.ORDER: frozenset({"order_number", "items", "fulfilment_status",
                                           "shipping_address"}) | ORDER_TIMES
                | DELIVERY_PROMISES,
            },
            hidden_from={Role.LOGISTICS_PARTNER: frozenset({"email"})},
            sealed_when_delivered=frozenset({"shipping_address"}),
            gone_when_delivered_for=frozenset({Role.LOGISTICS_PARTNER}),
        ),
        PurposeRule(
            purpose=Purpose.SERVICE,
            roles=frozenset({Role.STOREFRONT, Role.SUPPORT_AGENT}),
            fields={
                Resource.CUSTOMER: _all(Resource.CUSTOMER),
                Resource.ADDRESS: _all(Resource.ADDRESS),
                Resource.ORDER: _all(Resource.ORDER),
                Resource.MESSAGE: _all(Resource.MESSAGE),
                Resource.COMPLAINT: _all(Resource.COMPLAINT),
                Resource.CONSENT: _all(Resource.CONSENT),
                Resource.REQUEST: _all(Resource.REQUEST),
                Resource.POLICY_RECORD: _all(Resource.POLICY_RECORD),
            },
        ),
        PurposeRule(
            purpose=Purpose.FRAUD,
            roles=frozenset({Role.FRAUD_ANALYST}),
            fields={
                Resource.CUSTOMER: frozenset({"customer_key", "created_at"}),
                Resource.ADDRESS: frozenset({"country", "state", "city"}),
                Resource.ORDER: frozenset({"customer_key", "shipping_region", "total_amount",
                                           "currency", "payment_method", "payment_status"})
                | ORDER_TIMES,
            },
        ),
        PurposeRule(
            purpose=Purpose.PAYMENT,
            roles=frozenset({Role.PAYMENT_PARTNER}),
            fields={
                Resource.ORDER: frozenset({"order_number", "total_amount", "currency",
                                           "payment_status"}),
            },
        ),
        PurposeRule(
            purpose=Purpose.SELF,
            roles=frozenset({Role.CUSTOMER}),
            fields={
                Resource.CUSTOMER: _all(Resource.CUSTOMER),
                Resource.ADDRESS: _all(Resource.ADDRESS),
                Resource.ORDER: _all(Resource.ORDER),
                Resource.MESSAGE: _all(Resource.MESSAGE),
                Resource.COMPLAINT: _all(Resource.COMPLAINT),
                Resource.CONSENT: _all(Resource.CONSENT),
                Resource.ACCESS_LOG: _all(Resource.ACCESS_LOG),
                Resource.REQUEST: _all(Resource.REQUEST),
                Resource.DISCLOSURE: _all(Resource.DISCLOSURE) - {"recorded_by"},
                Resource.POLICY_RECORD: _all(Resource.POLICY_RECORD),
            },
        ),
        PurposeRule(
            purpose=Purpose.NOTIFICATIONS,
            roles=frozenset({Role.STOREFRONT}),
            fields={
                Resource.CUSTOMER: frozenset({"id", "name", "email", "phone"}),
                Resource.ORDER: frozenset({"order_number", "fulfilment_status"}) | ORDER_TIMES,
            },
            consent_based=True,
        ),
        PurposeRule(
            purpose=Purpose.OVERSIGHT,
            roles=frozenset({Role.PRIVACY_OFFICER, Role.SUPPORT_AGENT}),
            fields={
                Resource.REQUEST: _all(Resource.REQUEST),
                Resource.LOCKOUT: _all(Resource.LOCKOUT),
                Resource.COMPLAINT: COMPLAINT_STATUS,
                Resource.CONSENT: _all(Resource.CONSENT),
                Resource.HOLD: _all(Resource.HOLD),
                Resource.DISCLOSURE: _all(Resource.DISCLOSURE),
                Resource.AUDIT_ENTRY: _all(Resource.AUDIT_ENTRY),
            },
        ),
        PurposeRule(
            purpose=Purpose.OPTIMISATION,
            roles=frozenset({Role.ANALYST}),
            fields={Resource.ANALYTICS: _all(Resource.ANALYTICS)},
        ),
    )
}

CONSENT_PURPOSES = frozenset(p for p, rule in PURPOSE_TABLE.items() if rule.consent_based)
