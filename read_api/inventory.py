"""GET /api/v1/inventory/{product_id}: a product's stock record (staff only)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from read_api.consistency import parse_token, wait_until_visible
from read_api.deps import ConsistencyHeader, ReadSideDep
from runtime.auth import Principal, Role
from runtime.deps import SettingsDep, require_roles
from runtime.problems import ProblemError, problems
from schemas.catalog import InventoryView

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory (queries)"])
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.PRODUCT_MANAGER,
                                                   Role.ANALYST))]


@router.get("/{product_id}", response_model=InventoryView,
            responses=problems(400, 401, 403, 404, 422, 503),
            summary="A product's inventory record (admin, product_manager, analyst)")
async def get_inventory(product_id: UUID, read: ReadSideDep, settings: SettingsDep,
                        _: Staff, consistency_token: ConsistencyHeader = None) -> InventoryView:
    if consistency_token is not None:
        await wait_until_visible(read, parse_token(consistency_token),
                                 settings.consistency_timeout_seconds)
    record = await read.models.inventory.get(product_id)
    if record is None or record.deleted:
        raise ProblemError(404, "not-found", f"No inventory record for product {product_id}")
    return InventoryView(product_id=record.id, sku=record.sku, quantity=record.quantity,
                         updated_at=record.updated_at, version=record.version)
