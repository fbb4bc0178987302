"""The retention schedule as data: each category of data, how long it stays, what ends it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.config import Settings


class EndAction(StrEnum):
    """What happens to a row whose period is over."""

    DELETE = "delete"
    ANONYMIZE = "anonymize"


class Category(StrEnum):
    """A kind of data with its own retention period."""

    MESSAGES = "messages"
    ADDRESSES = "addresses"
    PSEUDONYMIZED_ORDERS = "pseudonymized_orders"
    ORDERS = "orders"
    VERIFICATION_CODES = "verification_codes"
    OUTBOX = "outbox"
    CLOSED_REQUESTS = "closed_requests"
    COMPLAINTS = "complaints"
    IDEMPOTENCY = "idempotency"
    CONSENT_HISTORY = "consent_history"


@dataclass(frozen=True)
class RetentionRule:
    """One row of the schedule: a category, its period's setting, start event and end."""

    category: Category
    setting: str
    action: EndAction
    starts: str
    what: str
    why: str


SCHEDULE: tuple[RetentionRule, ...] = (
    RetentionRule(Category.PSEUDONYMIZED_ORDERS, "order_retention_days", EndAction.DELETE,
                  "the order was placed", "orders of deleted customers (already pseudonymized)",
                  "kept only for the period tax and accounting law requires"),
    RetentionRule(Category.ORDERS, "order_retention_days", EndAction.ANONYMIZE,
                  "the order was placed", "orders: recipient, phone, street, house number and "
                  "postal code of the ship-to", "tax and accounting law requires order records; "
                  "after that period only figures without contact details stay"),
    RetentionRule(Category.MESSAGES, "retention_messages_days", EndAction.DELETE,
                  "the customer's last message", "communication records",
                  "to answer follow-up questions about the same matter"),
    RetentionRule(Category.ADDRESSES, "retention_addresses_days", EndAction.DELETE,
                  "the address was last changed or shipped to, once no undelivered order "
                  "uses it", "shipping addresses in the address book",
                  "to ship the next order without asking again"),
    RetentionRule(Category.VERIFICATION_CODES, "retention_verification_codes_days",
                  EndAction.DELETE, "the code expired", "one-time verification codes",
                  "to tell an expired code from a wrong one"),
    RetentionRule(Category.OUTBOX, "retention_outbox_days", EndAction.DELETE,
                  "the email was sent or given up", "delivery records of outgoing email",
                  "to answer whether an email went out"),
    RetentionRule(Category.CLOSED_REQUESTS, "retention_closed_requests_days", EndAction.DELETE,
                  "the request was completed or rejected",
                  "privacy requests (access, correction, deletion, consent withdrawal)",
                  "to show that each right was carried out on time"),
    RetentionRule(Category.COMPLAINTS, "retention_complaints_days", EndAction.DELETE,
                  "the complaint was answered", "complaints and inquiries with their answers",
                  "to show that each complaint was answered on time"),
    RetentionRule(Category.IDEMPOTENCY, "retention_idempotency_days", EndAction.DELETE,
                  "the request was made", "stored answers to retried requests",
                  "so a retried request does not create data twice"),
    RetentionRule(Category.CONSENT_HISTORY, "retention_consent_history_days", EndAction.DELETE,
                  "the customer was deleted", "consent history of deleted customers",
                  "to show what was consented to until the deletion"),
)

RULES: dict[Category, RetentionRule] = {rule.category: rule for rule in SCHEDULE}

Periods = dict[Category, int]
"""Days each category is kept, as configured."""


def periods(settings: Settings) -> Periods:
    """The configured period of every category, in days."""
    return {rule.category: getattr(settings, rule.setting) for rule in SCHEDULE}


def cutoff(now: datetime, days: int) -> datetime:
    """Rows whose start event is before this moment have expired."""
    return now - timedelta(days=days)


def kept_for(rule: RetentionRule, days: int) -> str:
    """The period in words, e.g. '3650 days after the order was placed'."""
    return f"{days} days after {rule.starts}, then {rule.action}d"
