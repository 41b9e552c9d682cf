"""GET /api/v1/me and staff's customer queries, over the customers read model.

The read model holds personal values sealed; they are unsealed here, for the customer
themself or staff, and never cached: an erasure shows at once (its key is gone).
"""

import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from commands.customers.links import email_key
from projections.customers.read_models import CUSTOMERS
from read_api.consistency import CONSISTENCY_WAIT, wait_for_token
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep
from runtime.auth import Principal, Role
from runtime.deps import PrincipalDep, SettingsDep, require_roles
from runtime.personal_data import SealedField
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.api import Page, Pagination
from schemas.customers import CustomerDocument, CustomerListQuery, CustomerView
from schemas.ordering import Address

router = APIRouter(tags=["customers (queries)"])
PRIVATE = {"Cache-Control": "private, no-store"}
CUSTOMER_TOKENS: frozenset[str | None] = frozenset({"Customer"})
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


async def views(read: ReadSide, documents: list[CustomerDocument]) -> list[CustomerView]:
    """The documents with their personal values unsealed (None where erased)."""
    sealed = [SealedField(d.id, field, value) for d in documents
              for field, value in (("email", d.email), ("name", d.name), ("phone", d.phone),
                                   ("addresses", d.addresses)) if value is not None]
    opened = dict(zip([(s.subject, s.field) for s in sealed],
                      await read.personal.unseal_many(sealed), strict=True))
    result = []
    for d in documents:
        addresses = opened.get((d.id, "addresses"))
        result.append(CustomerView(
            id=d.id, email=opened.get((d.id, "email")), name=opened.get((d.id, "name")),
            phone=opened.get((d.id, "phone")),
            addresses=[Address.model_validate(a) for a in json.loads(addresses)]
            if addresses else [],
            roles=list(d.roles), verified=d.verified, erased=d.erased or
            (d.email is not None and opened.get((d.id, "email")) is None),
            created_at=d.created_at, updated_at=d.updated_at, version=d.version))
    return result


async def _one(read: ReadSide, customer_id: UUID) -> CustomerView:
    document = await read.models.get(CUSTOMERS).get(customer_id)
    if document is None:
        raise ProblemError(404, "not-found", f"Customer {customer_id} not found")
    [view] = await views(read, [document])
    return view


@router.get("/api/v1/me", response_model=CustomerView, responses=problems(400, 401, 404, 503),
            summary="Your own account (not cached)", description=CONSISTENCY_WAIT)
async def me(principal: PrincipalDep, read: ReadSideDep, settings: SettingsDep,
             response: Response, consistency_token: ConsistencyHeader = None) -> CustomerView:
    try:
        customer_id = UUID(principal.subject)
    except ValueError:
        raise ProblemError(404, "not-found", "No customer account for this token") from None
    await _wait(read, settings, consistency_token)
    response.headers.update(PRIVATE)
    return await _one(read, customer_id)


@router.get("/api/v1/customers", response_model=Page[CustomerView],
            responses=problems(401, 403, 422, 503),
            summary="Customers, newest first; `email` finds one by address (staff)")
async def list_customers(query: Annotated[CustomerListQuery, Query()], principal: Admin,
                         read: ReadSideDep, settings: SettingsDep,
                         response: Response) -> Page[CustomerView]:
    key = (email_key(settings.account_secret.get_secret_value().encode(), query.email)
           if query.email else None)
    documents, total = await read.models.get(CUSTOMERS).page(query, key)
    response.headers.update(PRIVATE)
    return Page[CustomerView](data=await views(read, documents),
                              pagination=Pagination.of(query.page, query.limit, total))


@router.get("/api/v1/customers/{customer_id}", response_model=CustomerView,
            responses=problems(400, 401, 403, 404, 422, 503), summary="One customer (staff)",
            description=CONSISTENCY_WAIT)
async def get_customer(customer_id: UUID, principal: Admin, read: ReadSideDep,
                       settings: SettingsDep, response: Response,
                       consistency_token: ConsistencyHeader = None) -> CustomerView:
    await _wait(read, settings, consistency_token)
    response.headers.update(PRIVATE)
    return await _one(read, customer_id)


async def _wait(read: ReadSide, settings: Settings, token: str | None) -> None:
    await wait_for_token(read, token, settings.consistency_timeout_seconds, CUSTOMER_TOKENS,
                         "a customer's")
