"""Shipment commands over HTTP: staff pack, ship and deliver the parcels of paid orders."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Response

from commands.api.deps import RequestIdDep, event_metadata
from commands.api.orders import STAFF, FulfilmentDep, OrderingDep
from commands.api.responses import ExpectedVersion, accepted
from commands.api.routing import command_router
from commands.fulfilment.errors import ShipmentTransitionRefused
from runtime.auth import Principal
from runtime.deps import require_roles
from runtime.problems import problems
from schemas.api import CommandAccepted
from schemas.fulfilment import ShipOrder
from schemas.ordering import OrderStatus

router = command_router(prefix="/api/v1/shipments", tags=["shipments (commands)"])
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]


RESPONSES = problems(400, 401, 403, 404, 409, 422)


@router.post("/{shipment_id}/pack", response_model=CommandAccepted, responses=RESPONSES,
             summary="The parcel is packed")
def pack(shipment_id: UUID, fulfilment: FulfilmentDep, principal: Staff,
         version: ExpectedVersion, request_id: RequestIdDep, response: Response) -> CommandAccepted:
    result = fulfilment.pack(shipment_id, version, event_metadata(principal, request_id))
    return accepted(result, response)


@router.post("/{shipment_id}/ship", response_model=CommandAccepted, responses=RESPONSES,
             summary="The parcel left with a carrier: the order's reserved stock is committed")
def ship(shipment_id: UUID, command: ShipOrder, fulfilment: FulfilmentDep,
         ordering: OrderingDep, principal: Staff, version: ExpectedVersion,
         request_id: RequestIdDep, response: Response) -> CommandAccepted:
    shipment = fulfilment.shipment(shipment_id, version)
    order = ordering.order(shipment.order_id)
    if order.status is not OrderStatus.PAID:  # cancelled meanwhile: it must not leave
        raise ShipmentTransitionRefused(shipment_id, f"for an order that is {order.status}",
                                        "shipped", "its order is paid")
    result = fulfilment.ship(shipment_id, command, version, event_metadata(principal, request_id))
    return accepted(result, response)


@router.post("/{shipment_id}/deliver", response_model=CommandAccepted, responses=RESPONSES,
             summary="The parcel reached the customer")
def deliver(shipment_id: UUID, fulfilment: FulfilmentDep, principal: Staff,
            version: ExpectedVersion, request_id: RequestIdDep,
            response: Response) -> CommandAccepted:
    result = fulfilment.deliver(shipment_id, version, event_metadata(principal, request_id))
    return accepted(result, response)
