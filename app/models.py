"""Every table, imported in one place so migrations and tests see the whole schema."""

from app.addresses.models import ShippingAddress
from app.audit.models import AuditChainHead, AuditEntry
from app.complaints.models import Complaint
from app.consents.models import ConsentEvent
from app.core.db import Base
from app.core.idempotency import IdempotencyRecord
from app.disclosures.models import LegalDisclosure
from app.identity.models import Customer
from app.messages.models import Message
from app.orders.models import Order, OrderItem
from app.outbox.models import OutboxMessage
from app.partners.models import Partner, PartnerWebhook
from app.policies.models import PolicyAcceptance, PolicyNotice, PolicyVersion
from app.requests.models import PrivacyRequest, VerificationGuard

__all__ = ["AuditChainHead", "AuditEntry", "Base", "Complaint", "ConsentEvent", "Customer",
           "IdempotencyRecord", "LegalDisclosure", "Message", "Order", "OrderItem",
           "OutboxMessage", "Partner", "PartnerWebhook", "PolicyAcceptance", "PolicyNotice",
           "PolicyVersion", "PrivacyRequest", "ShippingAddress", "VerificationGuard"]
