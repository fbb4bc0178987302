"""Text input: control characters are 422 on both databases, card numbers are caught in every
text field (staff-written text included), and staff's rejection reasons are stored encrypted."""

import typing

import pytest
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel
from sqlalchemy import select

from app.complaints.models import Complaint
from app.policy.roles import Role
from app.requests.models import PrivacyRequest
from tests.factories import address_payload, create_customer, customer_payload

FULL_WIDTH_CARD = "\uff14\uff11\uff11\uff11\u3000\uff11\uff11\uff11\uff11\u30001111.1111"


def _is_422(response, code: str = "validation_failed") -> None:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x7f"])
async def test_control_characters_in_bodies_are_422(client, auth, control):
    """Every kind of text field refuses control characters, NUL included, before storage."""
    storefront = auth(Role.STOREFRONT, purpose="service")
    customer_id = await create_customer(client, headers=storefront)
    attempts = [
        ("/v1/customers", customer_payload(name=f"Mei{control}Lin")),
        ("/v1/customers/lookup", {"email": f"mei{control}@example.com"}),
        (f"/v1/customers/{customer_id}/addresses", address_payload(street=f"Keyuan{control}")),
        (f"/v1/customers/{customer_id}/messages", {"channel": "email", "direction": "inbound",
                                                   "body": f"hello{control}"}),
        ("/v1/complaints", {"customer_id": customer_id, "body": f"late{control}parcel"}),
        ("/v1/complaints", {"customer_id": f"{customer_id[:-1]}{control}", "body": "late"}),
        ("/v1/requests", {"customer_id": f"x{control}", "type": "access"}),
    ]
    for url, body in attempts:
        _is_422(await client.post(url, json=body, headers=storefront))


async def test_layout_characters_in_free_text_are_kept(client, auth, session):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    response = await client.post("/v1/complaints", headers=storefront, json={
        "customer_id": customer_id, "body": "line one\r\n\tline two"})
    assert response.status_code == 201
    assert await session.scalar(select(Complaint.id)) == response.json()["id"]


@pytest.mark.parametrize("path", ["/v1/customers/%00abc", "/v1/orders/HG%1B1",
                                  "/v1/orders?cursor=%00", "/v1/requests?state=%00"])
async def test_control_characters_in_paths_and_queries_are_422(client, auth, path):
    _is_422(await client.get(path, headers=auth(Role.SUPPORT_AGENT, purpose="service")))


async def test_card_numbers_in_any_disguise_are_rejected_in_structured_fields(client, auth):
    storefront = auth(Role.STOREFRONT)
    _is_422(await client.post("/v1/customers", headers=storefront,
                              json=customer_payload(name=f"Mei {FULL_WIDTH_CARD}")),
            "card_number_rejected")
    _is_422(await client.post("/v1/customers", headers=storefront, json=customer_payload(
        email="4111.1111.1111.1111@example.com")), "card_number_rejected")


async def test_staff_rejection_reason_is_masked_encrypted_and_shown(client, auth, session,
                                                                    app):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    filed = await client.post("/v1/requests",
                              headers=auth(Role.CUSTOMER, sub=customer_id, purpose="self"),
                              json={"customer_id": customer_id, "type": "access"})
    reason = f"Caller read out card {FULL_WIDTH_CARD} and Thaddeus Quorrington's address."
    officer = auth(Role.PRIVACY_OFFICER, purpose="oversight")
    rejected = await client.post(f"/v1/requests/{filed.json()['id']}/reject",
                                 json={"reason": reason}, headers=officer)
    assert rejected.status_code == 200
    shown = rejected.json()["rejection_reason"]
    assert shown == ("Caller read out card ****\u3000****\u3000****.1111 and Thaddeus "
                     "Quorrington's address.")
    stored = await session.scalar(select(PrivacyRequest))
    assert stored.rejection_reason is None
    assert "Quorrington" not in stored.rejection_reason_enc
    assert app.state.keys.cipher.decrypt(
        stored.rejection_reason_enc, context="privacy_request.rejection_reason",
        row_id=stored.id) == shown
    again = await client.get(f"/v1/requests/{filed.json()['id']}", headers=officer)
    assert again.json()["rejection_reason"] == shown


def _request_models(app) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()

    def walk(annotation) -> None:
        for arg in typing.get_args(annotation):
            walk(arg)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
                and annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                walk(field.annotation)

    for included in app.routes:  # the domain routers, as included into the app
        inner = getattr(included, "original_router", None)
        for route in inner.routes if inner else [included]:
            if isinstance(route, APIRoute) and route.body_field is not None:
                walk(route.body_field.field_info.annotation)
    return found


def _validated(metadata) -> bool:
    """Whether field metadata checks the text (a validator or a pattern), not only its length."""
    return any(isinstance(m, AfterValidator) or getattr(m, "pattern", None) for m in metadata)


def _bare_strings(model: type[BaseModel]) -> list[str]:
    """Text fields (possibly optional or in a list) that nothing but their length checks."""

    def bare(annotation) -> bool:
        if typing.get_origin(annotation) is typing.Annotated:
            return not _validated(annotation.__metadata__)
        return annotation is str or any(bare(arg) for arg in typing.get_args(annotation))

    return [f"{model.__name__}.{name}" for name, field in model.model_fields.items()
            if bare(field.annotation) and not _validated(field.metadata)]


def test_every_text_field_of_every_request_body_is_a_validated_type(app):
    models = _request_models(app)
    assert {"CustomerCreate", "RequestCreate", "Rejection", "ComplaintAnswer"} <= {
        m.__name__ for m in models}
    assert [name for model in models for name in _bare_strings(model)] == []


async def test_card_numbers_in_complaint_answers_are_masked_before_storage(client, auth, session,
                                                                          app):
    storefront = auth(Role.STOREFRONT)
    customer_id = await create_customer(client, headers=storefront)
    complaint = await client.post("/v1/complaints", headers=storefront,
                                  json={"customer_id": customer_id, "body": "Refund please"})
    answered = await client.post(f"/v1/complaints/{complaint.json()['id']}/answer",
                                 headers=auth(Role.SUPPORT_AGENT, purpose="service"),
                                 json={"answer": f"Refunded to {FULL_WIDTH_CARD}."})
    assert answered.status_code == 200
    stored = await session.scalar(select(Complaint))
    answer = app.state.keys.cipher.decrypt(stored.answer_enc, context="complaint.answer",
                                           row_id=stored.id)
    assert answer == "Refunded to ****\u3000****\u3000****.1111."
