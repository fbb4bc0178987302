"""Identity routes: create, read, find by email, correct."""


from fastapi import Request, status

from app.access.deps import ReaderDep, WriterDep, allow
from app.access.projection import GatedJSON
from app.core.deps import IdempotencyKey
from app.core.errors import PROBLEM_RESPONSES
from app.core.idempotency import once
from app.core.routing import api_router
from app.core.schemas import Receipt
from app.identity import service
from app.identity.public import CustomerId
from app.identity.schemas import CustomerCreate, CustomerLookup, CustomerUpdate, CustomerView
from app.policy.roles import Role

router = api_router(prefix="/v1/customers", tags=["identity"], responses=PROBLEM_RESPONSES)

@router.post("", status_code=status.HTTP_201_CREATED, response_model=Receipt,
             summary="Create a customer", dependencies=[allow(Role.STOREFRONT)])
async def create_customer(payload: CustomerCreate, writer: WriterDep, request: Request,
                          idempotency_key: IdempotencyKey = None):
    """Store a new customer's name, email and phone (encrypted). Storefront only."""
    return await once(writer.session, writer.actor, idempotency_key,
                      path=request.url.path, payload=payload, status_code=201,
                      create=lambda: service.create(writer, payload))


@router.post("/lookup", response_model=CustomerView, response_model_exclude_unset=True,
             summary="Find a customer by email")
async def find_customer(payload: CustomerLookup, reader: ReaderDep):
    """Find a customer through the email blind index; the email travels in the body."""
    return await service.find_by_email(reader, payload.email)


@router.get("/{customer_id}", response_model=CustomerView, response_model_exclude_unset=True,
            summary="Read a customer")
async def read_customer(customer_id: CustomerId, reader: ReaderDep):
    """A customer's identity, holding exactly the fields the `X-Purpose` allows."""
    return GatedJSON(await service.read(reader, customer_id))


@router.patch("/{customer_id}", response_model=Receipt, summary="Correct a customer",
              dependencies=[allow(Role.STOREFRONT, Role.SUPPORT_AGENT, Role.CUSTOMER)])
async def correct_customer(customer_id: CustomerId, payload: CustomerUpdate, writer: WriterDep):
    """Correct name, email or phone; the audit records which fields changed."""
    return await service.correct(writer, customer_id, payload)
