"""GET /api/v1/orders: customers' own orders, and every order for staff.

An order's view joins, at read time, the order's document with its payment's and its
shipment's (ids derived from the order's). Nothing here is cached: orders are personal
data, and a payment's client secret is shown to the order's owner only.

The documents hold the shipping address sealed with the key of the order's customer
(`schemas.personal.personal_subject` of its `customer_id`); it is unsealed here for those
who may read the order today, and reads `null` once the customer was erased.
"""

import asyncio
from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from projections.fulfilment import shipments
from projections.fulfilment.read_models import SHIPMENTS
from projections.ordering import orders
from projections.ordering.read_models import ORDERS
from projections.payments import payments
from projections.payments.read_models import PAYMENTS
from read_api.as_of import (
    AS_OF_RESPONSES,
    VERSION_HEADER,
    AsOfQuery,
    events_as_of,
    folded,
    folded_at,
    parse_as_of,
)
from read_api.consistency import CONSISTENCY_WAIT, wait_for_token
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep, with_etag
from runtime.auth import Principal, Role
from runtime.deps import SettingsDep, require_roles
from runtime.personal_data import SealedField, SealedValueError, json_object
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.api import Page, Pagination
from schemas.fulfilment import shipment_id
from schemas.order_views import (
    OrderDocument,
    OrderListQuery,
    OrderSummary,
    OrderView,
    PaymentDocument,
    ShipmentDocument,
)
from schemas.ordering import SHIPPING_ADDRESS, Address
from schemas.payments import payment_id
from schemas.personal import personal_subject

router = APIRouter(prefix="/api/v1/orders", tags=["orders (queries)"])
STAFF = (Role.ADMIN, Role.ORDER_MANAGER)
NO_STORE = "private, no-store"  # personal data: no shared or browser cache keeps it
Reader = Annotated[Principal, Depends(require_roles(*STAFF, Role.CUSTOMER))]
ORDER_TOKENS = frozenset({ORDERS.tracks, PAYMENTS.tracks, SHIPMENTS.tracks})


def is_staff(principal: Principal) -> bool:
    return not principal.roles.isdisjoint(STAFF)


@router.get("", response_model=Page[OrderSummary], responses=problems(401, 403, 422),
            summary="Orders, newest placed first: a customer's own, or every order for staff",
            description="A customer sees only their own orders (`customer` may name only "
            "themselves); admins and order managers see every order and filter by customer.")
async def list_orders(query: Annotated[OrderListQuery, Query()], read: ReadSideDep,
                      principal: Reader, response: Response) -> Page[OrderSummary]:
    if not is_staff(principal):
        if query.customer not in (None, principal.subject):
            raise ProblemError(403, "forbidden", "A customer can list only their own orders")
        query = query.model_copy(update={"customer": principal.subject})
    documents, total = await read.models.get(ORDERS).page(query)
    response.headers["Cache-Control"] = NO_STORE
    return Page[OrderSummary](data=[d.summary() for d in documents],
                              pagination=Pagination.of(query.page, query.limit, total))


@router.get("/{order_id}", response_model=OrderView,
            responses=with_etag({**problems(400, 401, 403, 503), **AS_OF_RESPONSES}),
            summary="One order with its payment, its shipment and their timeline",
            description="Its owner or staff (an order of another customer is not found). The "
            "`ETag` is the order's version, for `If-Match` on an order command. The payment's "
            "`client_secret` is shown only to the owner while the order awaits payment.\n\n"
            "The consistency token may be an order's, a payment's or a shipment's.\n\n"
            + CONSISTENCY_WAIT + "\n\n`as_of` is for staff only (403 for a customer); its "
            "payment and shipment are then shown as of the same moment, and the consistency "
            "token is not needed (the event store holds every recorded event).")
async def get_order(order_id: UUID, read: ReadSideDep, settings: SettingsDep,
                    principal: Reader, response: Response,
                    consistency_token: ConsistencyHeader = None,
                    as_of: AsOfQuery = None) -> OrderView:
    response.headers["Cache-Control"] = NO_STORE
    order: OrderDocument | None
    if as_of is not None:
        order, payment, shipment = await _order_as_of(read, principal, order_id, as_of)
        response.headers[VERSION_HEADER] = str(order.version)
    else:
        await _visible(read, settings, consistency_token)
        order, payment, shipment = await asyncio.gather(
            read.models.get(ORDERS).get(order_id),
            read.models.get(PAYMENTS).get(payment_id(order_id)),
            read.models.get(SHIPMENTS).get(shipment_id(order_id)))
    owner = order is not None and order.customer_id == principal.subject
    if order is None or not (owner or is_staff(principal)):
        raise ProblemError(404, "not-found", f"Order {order_id} not found")
    [address] = await addresses(read, [(order.customer_id, order.shipping_address)])
    response.headers["ETag"] = f'"{order.version}"'
    return order.view(payment, shipment, to_owner=owner, address=address)


async def _order_as_of(read: ReadSide, principal: Principal, order_id: UUID, text: str
                       ) -> tuple[OrderDocument, PaymentDocument | None, ShipmentDocument | None]:
    """The order as of `text`, with its payment and shipment as of the same moment, all
    folded from the event store; for staff only."""
    if not is_staff(principal):
        raise ProblemError(403, "forbidden", "as_of is for admins and order managers: "
                           "read the order without it")
    bound = parse_as_of(text)
    what = f"Order {order_id}"
    then = await events_as_of(read.streams, orders.AGGREGATE_TYPE, order_id, bound, what)
    order = folded(orders.fold_orders, order_id, then.events)
    if order is None:
        raise ProblemError(404, "not-found", f"{what} not found")
    payment, shipment = await asyncio.gather(
        folded_at(read.streams, payments.fold_payments, payments.AGGREGATE_TYPE,
                        payment_id(order_id), then.moment),
        folded_at(read.streams, shipments.fold_shipments, shipments.AGGREGATE_TYPE,
                        shipment_id(order_id), then.moment))
    return order, payment, shipment


async def _visible(read: ReadSide, settings: Settings, token: str | None) -> None:
    await wait_for_token(read, token, settings.consistency_timeout_seconds, ORDER_TOKENS,
                         "an order's, a payment's or a shipment's")


async def addresses(read: ReadSide, held: Sequence[tuple[str | None, str | Address]]
                    ) -> list[Address | None]:
    """Each (customer, address as a document holds it) unsealed, in one batch: None where
    the customer was erased. An address in clear (from before OrderPlaced and
    ShipmentCreated v2) is shown as it is."""
    sealed = [SealedField(personal_subject(customer), SHIPPING_ADDRESS, address)
              for customer, address in held if isinstance(address, str) and customer is not None]
    opened = iter(await read.personal.unseal_many(sealed) if sealed else [])
    result: list[Address | None] = []
    for customer, address in held:
        if isinstance(address, Address):
            result.append(address)
        elif customer is None:
            raise SealedValueError("a sealed address without its customer")
        else:
            text = next(opened)
            result.append(None if text is None else Address.model_validate(json_object(text)))
    return result
