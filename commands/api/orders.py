"""Order commands over HTTP: customers place, pay and cancel their orders; staff cancel
any order that has not shipped."""

from typing import Annotated
from uuid import UUID

from fastapi import Body, Depends, Request, Response, status

from commands.api.auth import CustomersDep
from commands.api.deps import CatalogDep, RequestIdDep, event_metadata
from commands.api.responses import ExpectedVersion, accepted
from commands.api.routing import command_router, pooled
from commands.fulfilment.application import FulfilmentApplication
from commands.ordering.application import OrderingApplication
from commands.ordering.errors import NoShippingAddress, OrderNotCancellable, OrderNotPayable
from commands.ordering.order import Order
from commands.payments.application import PaymentsApplication
from runtime.auth import Principal, Role
from runtime.deps import SettingsDep, require_roles
from runtime.problems import problems
from schemas.api import CommandAccepted
from schemas.ordering import CancelOrder, OrderStatus, PayOrder, PlaceOrder

router = command_router(prefix="/api/v1/orders", tags=["orders (commands)"])
STAFF = frozenset({Role.ADMIN, Role.ORDER_MANAGER})

Customer = Annotated[Principal, Depends(require_roles(Role.CUSTOMER))]
CustomerOrStaff = Annotated[Principal, Depends(require_roles(Role.CUSTOMER, *STAFF))]


async def get_ordering(request: Request) -> OrderingApplication:
    return request.app.state.applications[OrderingApplication.name]  # type: ignore[no-any-return]


async def get_payments(request: Request) -> PaymentsApplication:
    return request.app.state.applications[PaymentsApplication.name]  # type: ignore[no-any-return]


async def get_fulfilment(request: Request) -> FulfilmentApplication:
    return request.app.state.applications[FulfilmentApplication.name]  # type: ignore[no-any-return]


OrderingDep = Annotated[OrderingApplication, Depends(get_ordering)]
FulfilmentDep = Annotated[FulfilmentApplication, Depends(get_fulfilment)]
PaymentsDep = Annotated[PaymentsApplication, Depends(get_payments)]


def order_for(ordering: OrderingApplication, order_id: UUID, principal: Principal) -> Order:
    """The order, if `principal` may act on it: its owner, or staff. Another customer's
    order is as unknown as one that does not exist (404)."""
    order = ordering.order(order_id)
    if principal.roles.isdisjoint(STAFF) and order.customer_id != principal.subject:
        raise ordering.not_found(order_id)
    return order


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted,
             responses=problems(401, 403, 422),
             summary="Place an order: prices are the catalog's now; stock is reserved next",
             description="The order starts `pending`; once every line is reserved it is "
             "`awaiting_payment` (or `rejected` if stock is short). Read it back with the "
             "consistency token.")
def place_order(command: PlaceOrder, ordering: OrderingDep, catalog: CatalogDep,
                customers: CustomersDep, principal: Customer, settings: SettingsDep,
                request_id: RequestIdDep, response: Response) -> CommandAccepted:
    if command.shipping_address is None:
        saved = customers.saved_addresses(principal.subject)
        if not saved:
            raise NoShippingAddress()
        command = command.model_copy(update={"shipping_address": saved[0]})
    result = ordering.place_order(principal.subject, command, catalog, settings.currency,
                                  event_metadata(principal, request_id))
    response.headers["Location"] = f"/api/v1/orders/{result.aggregate_id}"
    return accepted(result, response)


@router.post("/{order_id}/cancel", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409, 422),
             summary="Cancel an order before it ships: its stock is released, a payment "
                     "refunded")
def cancel_order(order_id: UUID, ordering: OrderingDep, fulfilment: FulfilmentDep,
                 principal: CustomerOrStaff, version: ExpectedVersion, request_id: RequestIdDep,
                 response: Response,
                 command: Annotated[CancelOrder | None, Body()] = None) -> CommandAccepted:
    order_for(ordering, order_id, principal)
    if fulfilment.has_left(order_id):  # shipped, though the saga has not told the order yet
        raise OrderNotCancellable(order_id, OrderStatus.SHIPPED)
    reason = (command.reason if command else None) or f"cancelled by {principal.subject}"
    result = ordering.cancel_order(order_id, reason, version,
                                   event_metadata(principal, request_id))
    return accepted(result, response)


@router.post("/{order_id}/pay", status_code=status.HTTP_202_ACCEPTED,
             response_model=CommandAccepted, responses=problems(401, 403, 404, 409, 422, 503),
             summary="Pay an order awaiting payment with a payment method",
             description="The payment provider confirms the payment with its webhook; the "
             "order is `paid` once it has. The token returned is the payment's.")
@pooled  # asks the payment provider
def pay_order(order_id: UUID, command: PayOrder, ordering: OrderingDep,
              payments: PaymentsDep, principal: Customer, request_id: RequestIdDep,
              response: Response) -> CommandAccepted:
    order = order_for(ordering, order_id, principal)
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        raise OrderNotPayable(order_id, order.status)
    result = payments.submit(order_id, command.payment_method,
                             event_metadata(principal, request_id))
    return accepted(result, response)
