"""Inventory commands over HTTP: staff receive stock and correct counts.

Reservations are not here: the order saga makes them through the inventory Application.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response, status

from commands.api.deps import RequestIdDep, event_metadata
from commands.api.responses import ExpectedVersion, accepted
from commands.api.routing import command_router
from commands.inventory.application import InventoryApplication
from runtime.auth import Principal, Role
from runtime.deps import require_roles
from runtime.problems import problems
from schemas.api import CommandAccepted
from schemas.inventory import AdjustStock, ReceiveStock

router = command_router(prefix="/api/v1/inventory", tags=["inventory (commands)"])


async def get_inventory(request: Request) -> InventoryApplication:
    return request.app.state.applications[InventoryApplication.name]  # type: ignore[no-any-return]


InventoryDep = Annotated[InventoryApplication, Depends(get_inventory)]
StockKeeper = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.PRODUCT_MANAGER, Role.INVENTORY_MANAGER))]


def _recorded(product_id: UUID, response: Response) -> None:
    response.headers["Location"] = f"/api/v1/inventory/{product_id}/movements"


@router.post("/{product_id}/receipts", status_code=status.HTTP_201_CREATED,
             response_model=CommandAccepted, responses=problems(400, 401, 403, 404, 409, 422),
             summary="Receive stock: add units on hand")
def receive_stock(product_id: UUID, command: ReceiveStock, inventory: InventoryDep,
                  principal: StockKeeper, version: ExpectedVersion, request_id: RequestIdDep,
                  response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    result = inventory.receive_stock(product_id, command, version, meta)
    _recorded(product_id, response)
    return accepted(result, response)


@router.post("/{product_id}/adjustments", status_code=status.HTTP_201_CREATED,
             response_model=CommandAccepted, responses=problems(400, 401, 403, 404, 409, 422),
             summary="Correct the count on hand by a signed delta, with a reason "
                     "(409 if it would fall below what is reserved)")
def adjust_stock(product_id: UUID, command: AdjustStock, inventory: InventoryDep,
                 principal: StockKeeper, version: ExpectedVersion, request_id: RequestIdDep,
                 response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    result = inventory.adjust_stock(product_id, command, version, meta)
    _recorded(product_id, response)
    return accepted(result, response)
