"""GET /api/v1/inventory: stock levels and their movements (staff only)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from projections.inventory.read_models import MOVEMENTS, STOCK
from read_api.consistency import CONSISTENCY_WAIT, wait_for_token
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep, with_etag
from runtime.auth import Principal, Role
from runtime.deps import SettingsDep, require_roles
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.api import Page, Pagination
from schemas.inventory import stock_item_id
from schemas.stock import (
    MovementListQuery,
    StockDocument,
    StockListQuery,
    StockMovementView,
    StockView,
)

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory (queries)"])
Staff = Annotated[Principal, Depends(require_roles(
    Role.ADMIN, Role.PRODUCT_MANAGER, Role.INVENTORY_MANAGER, Role.ANALYST))]


@router.get("", response_model=Page[StockView], responses=problems(401, 403, 422),
            summary="Stock items, fewest available first; `available_below` lists low stock")
async def list_stock(query: Annotated[StockListQuery, Query()], read: ReadSideDep,
                     _: Staff) -> Page[StockView]:
    documents, total = await read.models.get(STOCK).page(query)
    return Page[StockView](data=[d.view() for d in documents],
                           pagination=Pagination.of(query.page, query.limit, total))


@router.get("/{product_id}", response_model=StockView,
            responses=with_etag(problems(400, 401, 403, 404, 422, 503)),
            summary="A product's stock: on hand, reserved, available",
            description="The `ETag` is the stock item's version, for `If-Match` on a stock "
            "command.\n\n" + CONSISTENCY_WAIT)
async def get_stock(product_id: UUID, read: ReadSideDep, settings: SettingsDep, _: Staff,
                    response: Response,
                    consistency_token: ConsistencyHeader = None) -> StockView:
    await _visible(read, settings, consistency_token)
    item = await _stock_item(read, product_id)
    response.headers["ETag"] = f'"{item.version}"'
    return item.view()


@router.get("/{product_id}/movements", response_model=Page[StockMovementView],
            responses=problems(400, 401, 403, 404, 422, 503),
            summary="A product's stock movements, newest first")
async def list_movements(product_id: UUID, query: Annotated[MovementListQuery, Query()],
                         read: ReadSideDep, settings: SettingsDep, _: Staff,
                         consistency_token: ConsistencyHeader = None) -> Page[StockMovementView]:
    await _visible(read, settings, consistency_token, waits_on_movements=True)
    item = await _stock_item(read, product_id)
    documents, total = await read.models.get(MOVEMENTS).page(item.id, query)
    return Page[StockMovementView](data=[d.view() for d in documents],
                                   pagination=Pagination.of(query.page, query.limit, total))


async def _stock_item(read: ReadSide, product_id: UUID) -> StockDocument:
    found = await read.models.get(STOCK).get(stock_item_id(product_id))
    if found is None:
        raise ProblemError(404, "not-found", f"No stock item for product {product_id}")
    return found


async def _visible(read: ReadSide, settings: Settings, token: str | None,
                   waits_on_movements: bool = False) -> None:
    await wait_for_token(read, token, settings.consistency_timeout_seconds,
                         frozenset({STOCK.tracks}), "a stock item's",
                         MOVEMENTS if waits_on_movements else None)
