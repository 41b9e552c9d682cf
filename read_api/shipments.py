"""GET /api/v1/shipments: the packing and shipping queue (staff only). Not cached: a
shipment carries a customer's address, unsealed here (`null` once the customer was
erased)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from projections.fulfilment.read_models import SHIPMENTS
from read_api.consistency import CONSISTENCY_WAIT, wait_for_token
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep, with_etag
from read_api.orders import NO_STORE, STAFF, addresses
from runtime.auth import Principal
from runtime.deps import SettingsDep, require_roles
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.api import Page, Pagination
from schemas.order_views import ShipmentListQuery, ShipmentView

router = APIRouter(prefix="/api/v1/shipments", tags=["shipments (queries)"])
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]


@router.get("", response_model=Page[ShipmentView], responses=problems(401, 403, 422),
            summary="Shipments, oldest first; `status=ready` is what is left to pack")
async def list_shipments(query: Annotated[ShipmentListQuery, Query()], read: ReadSideDep,
                         _: Staff, response: Response) -> Page[ShipmentView]:
    documents, total = await read.models.get(SHIPMENTS).page(query)
    opened = await addresses(read, [(d.customer_id, d.shipping_address) for d in documents])
    response.headers["Cache-Control"] = NO_STORE
    return Page[ShipmentView](data=[d.view(a) for d, a in zip(documents, opened, strict=True)],
                              pagination=Pagination.of(query.page, query.limit, total))


@router.get("/{shipment_id}", response_model=ShipmentView,
            responses=with_etag(problems(400, 401, 403, 404, 422, 503)),
            summary="One shipment",
            description="The `ETag` is the shipment's version, for `If-Match` on a shipment "
            "command.\n\n" + CONSISTENCY_WAIT)
async def get_shipment(shipment_id: UUID, read: ReadSideDep, settings: SettingsDep, _: Staff,
                       response: Response,
                       consistency_token: ConsistencyHeader = None) -> ShipmentView:
    await _visible(read, settings, consistency_token)
    shipment = await read.models.get(SHIPMENTS).get(shipment_id)
    if shipment is None:
        raise ProblemError(404, "not-found", f"Shipment {shipment_id} not found")
    [address] = await addresses(read, [(shipment.customer_id, shipment.shipping_address)])
    response.headers["ETag"] = f'"{shipment.version}"'
    response.headers["Cache-Control"] = NO_STORE
    return shipment.view(address)


async def _visible(read: ReadSide, settings: Settings, token: str | None) -> None:
    await wait_for_token(read, token, settings.consistency_timeout_seconds,
                         frozenset({SHIPMENTS.tracks}), "a shipment's")
