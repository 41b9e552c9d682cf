"""GET /api/v1/products: product queries over the products read model."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from read_api.categories import find_category
from read_api.consistency import parse_token, wait_until_visible
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep
from runtime.cache import product_key
from runtime.deps import SettingsDep
from runtime.problems import PROBLEM_RESPONSES, ProblemError
from schemas.api import Page, Pagination
from schemas.catalog import ProductDocument, ProductListQuery, ProductView

router = APIRouter(prefix="/api/v1/products", tags=["products (queries)"])
JSON = "application/json"


@router.get(
    "",
    response_model=Page[ProductView],
    responses={k: v for k, v in PROBLEM_RESPONSES.items() if k in (400, 422, 503)},
    summary="List products, a page at a time",
)
async def list_products(
    query: Annotated[ProductListQuery, Query()],
    read: ReadSideDep,
    settings: SettingsDep,
    consistency_token: ConsistencyHeader = None,
) -> Page[ProductView]:
    if consistency_token is not None:
        token = parse_token(consistency_token)
        await wait_until_visible(read, token, settings.consistency_timeout_seconds)
    documents: list[ProductDocument] = []
    total = 0
    category_id = await _category_id(read, query.category) if query.category else None
    if query.category is None or category_id is not None:  # an unknown category has none
        documents, total = await read.models.products.page(query, category_id)
    return Page[ProductView](
        data=[d.view() for d in documents],
        pagination=Pagination.of(query.page, query.limit, total),
    )


async def _category_id(read: ReadSide, id_or_slug: str) -> UUID | None:
    found = await find_category(read, id_or_slug)
    return found.id if found else None


@router.get(
    "/{product_id}",
    name="get_product",
    response_model=ProductView,
    responses={k: v for k, v in PROBLEM_RESPONSES.items() if k in (400, 404, 422, 503)},
    summary="One product by id (cached)",
)
async def get_product(
    product_id: UUID,
    read: ReadSideDep,
    settings: SettingsDep,
    consistency_token: ConsistencyHeader = None,
) -> Response:
    key = product_key(product_id)
    must_be_fresh = False
    if consistency_token is not None:
        token = parse_token(consistency_token)
        await wait_until_visible(read, token, settings.consistency_timeout_seconds)
        # The cache may still hold an older version of this very product.
        must_be_fresh = token.aggregate_id == product_id
    if not must_be_fresh and (cached := await read.cache.get(key)) is not None:
        return Response(cached, media_type=JSON, headers={"X-Cache": "HIT"})
    document = await read.models.products.get(product_id)
    if document is None:
        raise ProblemError(404, "not-found", f"Product {product_id} not found")
    body = document.view().model_dump_json().encode()
    await read.cache.set(key, body, settings.cache_ttl_product_seconds)
    return Response(body, media_type=JSON, headers={"X-Cache": "MISS"})
