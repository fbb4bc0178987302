"""The purpose table's invariants, checked through the pure `decide` function."""

import itertools

import pytest

from app.policy.decisions import Reason, decide, parse_purpose, purposes_for, role_may_use
from app.policy.purposes import RESOURCE_FIELDS, Purpose, Resource
from app.policy.roles import Role

ALL = list(itertools.product(Role, Purpose, Resource, (False, True)))
IDENTIFYING = {"name", "recipient_name", "email", "phone", "street", "house_number",
               "postal_code", "body", "subject", "shipping_address"}
FRAUD_ALLOWED = {"customer_key", "shipping_region", "country", "state", "city", "total_amount",
                 "currency", "payment_method", "payment_status", "placed_at", "shipped_at",
                 "delivered_at", "cancelled_at", "created_at"}
PAYMENT_FIELDS = ("order_number", "total_amount", "currency", "payment_status")
NOT_ABOUT_ONE_CUSTOMER = {Resource.HOLD, Resource.ANALYTICS}
"""Staff records about data (holds) and aggregates: not part of a customer's own data."""
DESIGN_PURPOSES = {Purpose.DELIVERY, Purpose.SERVICE, Purpose.FRAUD, Purpose.PAYMENT, Purpose.SELF}


def _fields(role, purpose, resource, delivered=False) -> set[str]:
    return set(decide(role, purpose, resource, delivered=delivered).fields)


def test_decisions_are_consistent():
    """Allowed decisions list known fields in table order; refusals carry no fields."""
    for role, purpose, resource, delivered in ALL:
        decision = decide(role, purpose, resource, delivered=delivered)
        if decision.allowed:
            assert decision.fields, (role, purpose, resource)
            order = RESOURCE_FIELDS[resource]
            assert list(decision.fields) == sorted(decision.fields, key=order.index)
        else:
            assert decision.fields == (), (role, purpose, resource)


@pytest.mark.parametrize(("resource", "delivered"),
                         list(itertools.product(Resource, (False, True))))
def test_fraud_never_sees_identifying_fields(resource, delivered):
    """Fraud analysts get pseudonymous, coarse data only: no name, contact, street or text."""
    fields = _fields(Role.FRAUD_ANALYST, Purpose.FRAUD, resource, delivered)
    assert not fields & IDENTIFYING
    assert fields <= FRAUD_ALLOWED
    assert "id" not in fields and "customer_id" not in fields


def test_fraud_gets_the_pseudonymous_key_and_region():
    """Fraud reads link orders by the keyed customer key and a coarse region."""
    order = _fields(Role.FRAUD_ANALYST, Purpose.FRAUD, Resource.ORDER)
    assert {"customer_key", "shipping_region", "total_amount", "payment_method",
            "payment_status"} <= order
    assert _fields(Role.FRAUD_ANALYST, Purpose.FRAUD, Resource.CUSTOMER) >= {"customer_key"}
    assert decide(Role.FRAUD_ANALYST, Purpose.FRAUD, Resource.MESSAGE).reason is \
        Reason.RESOURCE_NOT_COVERED


@pytest.mark.parametrize("delivered", [False, True])
def test_payment_partner_gets_exactly_four_order_fields(delivered):
    """Payment reads return order number, amount, currency and payment status only."""
    decision = decide(Role.PAYMENT_PARTNER, Purpose.PAYMENT, Resource.ORDER,
                      delivered=delivered)
    assert decision.allowed
    assert decision.fields == PAYMENT_FIELDS


@pytest.mark.parametrize("resource", [r for r in Resource if r is not Resource.ORDER])
def test_payment_covers_nothing_but_orders(resource):
    """The payment purpose covers no customer, address, message or log data."""
    assert decide(Role.PAYMENT_PARTNER, Purpose.PAYMENT, resource).reason is \
        Reason.RESOURCE_NOT_COVERED


def test_logistics_partner_never_sees_email():
    """Whatever it asks, a logistics partner is never given an email address."""
    for purpose, resource, delivered in itertools.product(Purpose, Resource, (False, True)):
        fields = _fields(Role.LOGISTICS_PARTNER, purpose, resource, delivered)
        assert "email" not in fields, (purpose, resource)


def test_delivery_for_the_carrier_and_the_storefront():
    """Delivery gives name and phone to both, email only to the storefront, and no payment."""
    partner = _fields(Role.LOGISTICS_PARTNER, Purpose.DELIVERY, Resource.CUSTOMER)
    storefront = _fields(Role.STOREFRONT, Purpose.DELIVERY, Resource.CUSTOMER)
    assert {"name", "phone"} <= partner
    assert storefront == partner | {"email"}
    order = _fields(Role.LOGISTICS_PARTNER, Purpose.DELIVERY, Resource.ORDER)
    assert {"order_number", "items", "fulfilment_status", "shipping_address"} <= order
    assert not order & {"total_amount", "currency", "payment_method", "payment_status",
                        "customer_key", "customer_id"}


@pytest.mark.parametrize(("role", "purpose"), [(Role.STOREFRONT, Purpose.DELIVERY),
                                               (Role.LOGISTICS_PARTNER, Purpose.DELIVERY),
                                               (Role.SUPPORT_AGENT, Purpose.SERVICE),
                                               (Role.CUSTOMER, Purpose.SELF)])
def test_delivery_promises_for_delivery_service_and_self(role, purpose):
    """Ship-by and the delivery window are read for delivery, service and self."""
    assert {"ship_by", "deliver_from", "deliver_by"} <= _fields(role, purpose, Resource.ORDER)


@pytest.mark.parametrize(("role", "purpose"), [(Role.FRAUD_ANALYST, Purpose.FRAUD),
                                               (Role.PAYMENT_PARTNER, Purpose.PAYMENT),
                                               (Role.STOREFRONT, Purpose.NOTIFICATIONS)])
def test_delivery_promises_not_for_other_purposes(role, purpose):
    """Other purposes do not get the promised dates."""
    assert not {"ship_by", "deliver_from", "deliver_by"} & _fields(role, purpose, Resource.ORDER)


def test_delivered_order_seals_the_address_for_delivery():
    """Once delivered, delivery reads lose the address; the carrier gets GONE."""
    open_order = decide(Role.STOREFRONT, Purpose.DELIVERY, Resource.ORDER)
    sealed = decide(Role.STOREFRONT, Purpose.DELIVERY, Resource.ORDER, delivered=True)
    assert "shipping_address" in open_order.fields
    assert sealed.allowed
    assert "shipping_address" not in sealed.fields
    assert set(sealed.fields) == set(open_order.fields) - {"shipping_address"}

    assert decide(Role.LOGISTICS_PARTNER, Purpose.DELIVERY, Resource.ORDER).allowed
    gone = decide(Role.LOGISTICS_PARTNER, Purpose.DELIVERY, Resource.ORDER, delivered=True)
    assert gone.reason is Reason.GONE_AFTER_DELIVERY
    assert not gone.allowed and gone.fields == ()


@pytest.mark.parametrize(("role", "purpose"), [(Role.STOREFRONT, Purpose.SERVICE),
                                               (Role.SUPPORT_AGENT, Purpose.SERVICE),
                                               (Role.CUSTOMER, Purpose.SELF)])
def test_delivered_order_keeps_its_address_for_service_and_self(role, purpose):
    """Sealing applies to delivery only; service and the customer still see the address."""
    assert "shipping_address" in decide(role, purpose, Resource.ORDER, delivered=True).fields


def test_service_includes_payment_details_and_communications():
    """Service reads cover identity, addresses, orders incl. payment, and messages."""
    order = _fields(Role.SUPPORT_AGENT, Purpose.SERVICE, Resource.ORDER)
    assert {"payment_method", "payment_status", "total_amount", "shipping_address"} <= order
    assert {"subject", "body"} <= _fields(Role.SUPPORT_AGENT, Purpose.SERVICE, Resource.MESSAGE)
    assert {"name", "email", "phone"} <= _fields(Role.SUPPORT_AGENT, Purpose.SERVICE,
                                                  Resource.CUSTOMER)


@pytest.mark.parametrize("role", list(Role))
def test_only_customers_use_self(role):
    """The self purpose belongs to the customer role alone."""
    expected = role is Role.CUSTOMER
    assert (role_may_use(role, Purpose.SELF) is Reason.PERMITTED) == expected
    assert (Purpose.SELF in purposes_for(role)) == expected
    for resource in set(Resource) - {Resource.LOCKOUT, Resource.AUDIT_ENTRY}:  # officer only
        decision = decide(role, Purpose.SELF, resource)
        assert decision.allowed == (expected and resource not in NOT_ABOUT_ONE_CUSTOMER)
        if not expected:
            assert decision.reason is Reason.ROLE_NOT_PERMITTED


def test_customer_self_covers_the_access_log():
    """A customer may read who read their data; no other purpose covers the log."""
    assert decide(Role.CUSTOMER, Purpose.SELF, Resource.ACCESS_LOG).allowed
    for role, purpose in itertools.product(Role, Purpose):
        if purpose is not Purpose.SELF:
            assert not decide(role, purpose, Resource.ACCESS_LOG).allowed


@pytest.mark.parametrize(("role", "purposes"), [
    (Role.STOREFRONT, {Purpose.DELIVERY, Purpose.SERVICE}),
    (Role.CUSTOMER, {Purpose.SELF}),
    (Role.SUPPORT_AGENT, {Purpose.SERVICE}),
    (Role.FRAUD_ANALYST, {Purpose.FRAUD}),
    (Role.LOGISTICS_PARTNER, {Purpose.DELIVERY}),
    (Role.PAYMENT_PARTNER, {Purpose.PAYMENT}),
    (Role.PRIVACY_OFFICER, set()),
    (Role.ANALYST, set()),
])
def test_roles_use_exactly_the_purposes_of_the_design(role, purposes):
    """Each role may name exactly the design table's purposes it is given there."""
    assert set(purposes_for(role)) & DESIGN_PURPOSES == purposes


def test_uncovered_resource_is_told_apart_from_forbidden_role():
    """A permitted role asking for an uncovered resource differs from a forbidden role."""
    covered_not = decide(Role.PAYMENT_PARTNER, Purpose.PAYMENT, Resource.CUSTOMER)
    forbidden = decide(Role.SUPPORT_AGENT, Purpose.PAYMENT, Resource.ORDER)
    assert covered_not.reason is Reason.RESOURCE_NOT_COVERED
    assert forbidden.reason is Reason.ROLE_NOT_PERMITTED
    assert decide(Role.LOGISTICS_PARTNER, Purpose.DELIVERY, Resource.MESSAGE).reason is \
        Reason.RESOURCE_NOT_COVERED
    assert decide(Role.SUPPORT_AGENT, Purpose.PAYMENT, Resource.CUSTOMER).reason is \
        Reason.ROLE_NOT_PERMITTED


def test_unknown_purpose_names_parse_to_none():
    """Only the table's purposes are recognised."""
    assert parse_purpose("service") is Purpose.SERVICE
    for name in ("marketing", "", "SERVICE ", "analytics"):
        assert parse_purpose(name) is None


def test_optimisation_is_the_analyst_s_and_covers_aggregates_only():
    """The analyst reads de-identified aggregates and nothing about any one person."""
    assert purposes_for(Role.ANALYST) == [Purpose.OPTIMISATION]
    for role in Role:
        expected = role is Role.ANALYST
        assert (role_may_use(role, Purpose.OPTIMISATION) is Reason.PERMITTED) == expected
    for resource in Resource:
        decision = decide(Role.ANALYST, Purpose.OPTIMISATION, resource)
        assert decision.allowed == (resource is Resource.ANALYTICS), resource
    for purpose in Purpose:
        if purpose is not Purpose.OPTIMISATION:
            assert not any(decide(role, purpose, Resource.ANALYTICS).allowed for role in Role)


def test_legal_holds_are_read_for_oversight_only():
    """Holds are staff data: only the oversight purpose covers them."""
    assert set(_fields(Role.PRIVACY_OFFICER, Purpose.OVERSIGHT, Resource.HOLD)) == set(
        RESOURCE_FIELDS[Resource.HOLD])
    for role, purpose in itertools.product(Role, Purpose):
        if purpose is not Purpose.OVERSIGHT:
            assert not decide(role, purpose, Resource.HOLD).allowed, (role, purpose)
