"""GET /api/v1/products: product queries over the products read model."""

import asyncio
import hashlib
import json
import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from projections.catalog import categories, products
from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.inventory import stock
from projections.inventory.read_models import STOCK
from read_api.as_of import (
    AS_OF_RESPONSES,
    VERSION_HEADER,
    AsOfQuery,
    cache_control,
    events_as_of,
    folded,
    folded_at,
    parse_as_of,
)
from read_api.categories import find_category
from read_api.consistency import CONSISTENCY_WAIT, parse_token, wait_until_visible
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep, with_etag
from runtime.cache import LISTING_GENERATION, listing_key, tagged, untag
from runtime.deps import SettingsDep
from runtime.problems import ProblemError, problems
from schemas.api import Page, Pagination
from schemas.catalog import ProductDocument, ProductListQuery, ProductView
from schemas.inventory import stock_item_id

router = APIRouter(prefix="/api/v1/products", tags=["products (queries)"])
JSON = "application/json"
_LAST_VERSION = re.compile(rb'"version":(\d+)}\s*$')  # a ProductView's last field


def etag(body: bytes) -> str:
    """The ETag of a product body: its version, quoted, as command responses send it (and
    as If-Match takes it back). Read from the body, so a cached one needs no more."""
    found = _LAST_VERSION.search(body[-64:])
    version = int(found.group(1)) if found else int(json.loads(body)["version"])
    return f'"{version}"'


@router.get(
    "",
    response_model=Page[ProductView],
    responses=problems(400, 422, 503),
    summary="List products, a page at a time (cached 5 minutes)",
)
async def list_products(
    query: Annotated[ProductListQuery, Query()],
    read: ReadSideDep,
    settings: SettingsDep,
    consistency_token: ConsistencyHeader = None,
) -> Response:
    if consistency_token is not None:  # then straight from the read model, as by id
        await wait_until_visible(read, parse_token(consistency_token),
                                 settings.consistency_timeout_seconds)
        return Response(await _listing_body(read, query), media_type=JSON,
                        headers={"X-Cache": "BYPASS"})
    generation = int(await read.cache.get(LISTING_GENERATION) or 0)
    key = listing_key(generation, hashlib.sha256(query.model_dump_json().encode()).hexdigest())
    if (body := untag(await read.cache.get(key), generation)) is not None:
        return Response(body, media_type=JSON, headers={"X-Cache": "HIT"})
    body = await _listing_body(read, query)
    await read.cache.set(key, tagged(generation, body), settings.cache_ttl_listing_seconds)
    return Response(body, media_type=JSON, headers={"X-Cache": "MISS"})


async def _listing_body(read: ReadSide, query: ProductListQuery) -> bytes:
    documents: list[ProductDocument] = []
    total = 0
    category_id = await _category_id(read, query.category) if query.category else None
    if query.category is None or category_id is not None:  # an unknown category has none
        documents, total = await read.models.get(PRODUCTS).page(query, category_id)
    page = Page[ProductView](data=await _views(read, documents),
                             pagination=Pagination.of(query.page, query.limit, total))
    return page.model_dump_json().encode()


async def _category_id(read: ReadSide, id_or_slug: str) -> UUID | None:
    found = await find_category(read, id_or_slug)
    return found.id if found else None


@router.get(
    "/{product_id}",
    name="get_product",
    response_model=ProductView,
    responses=with_etag({**problems(400, 503), **AS_OF_RESPONSES}),
    summary="One product by id (cached), or as it was (as_of)",
    description="The `ETag` is the product's version (`\"3\"`): send it back as `If-Match` "
    "on a command to change only what you read.\n\n" + CONSISTENCY_WAIT + "\n\nWith "
    "`as_of`, its category and stock are shown as of the same moment; the consistency "
    "token is then not needed (the event store holds every recorded event).",
)
async def get_product(
    product_id: UUID,
    read: ReadSideDep,
    settings: SettingsDep,
    consistency_token: ConsistencyHeader = None,
    as_of: AsOfQuery = None,
) -> Response:
    if as_of is not None:
        return await _product_as_of(read, product_id, as_of)
    if consistency_token is not None:
        # Reads the read model itself: the projector bumps cache generations only after
        # it has written, so right after the wait the cache may not know yet.
        await wait_until_visible(read, parse_token(consistency_token),
                                 settings.consistency_timeout_seconds)
        body = await _product_body(read, product_id)
        return Response(body, media_type=JSON, headers={"X-Cache": "BYPASS", "ETag": etag(body)})
    # Cached in front of the routes (read_api/product_cache.py): here only on a miss.
    body = await _product_body(read, product_id)
    return Response(body, media_type=JSON, headers={"ETag": etag(body)})


async def _product_body(read: ReadSide, product_id: UUID) -> bytes:
    document = await read.models.get(PRODUCTS).get(product_id)
    if document is None:
        raise ProblemError(404, "not-found", f"Product {product_id} not found")
    [view] = await _views(read, [document])
    return view.model_dump_json().encode()


async def _product_as_of(read: ReadSide, product_id: UUID, text: str) -> Response:
    """The product as of `text`, with its category and its stock as of the same moment,
    all folded from the event store; never cached here."""
    bound = parse_as_of(text)
    then = await events_as_of(read.streams, products.AGGREGATE_TYPE, product_id, bound,
                             f"Product {product_id}")
    document = folded(products.fold_products, product_id, then.events)
    if document is None:
        raise ProblemError(404, "not-found", f"Product {product_id} not found")
    if document.deleted_at is not None:
        raise ProblemError(404, "not-found", f"Product {product_id} was deleted as of "
                           f"version {document.version}")
    category, level = await asyncio.gather(
        folded_at(read.streams, categories.fold_categories, categories.AGGREGATE_TYPE,
                        document.category_id, then.moment),
        folded_at(read.streams, stock.fold_stock, stock.AGGREGATE_TYPE,
                        stock_item_id(product_id), then.moment))
    body = document.view(category, level.available if level else None).model_dump_json()
    return Response(body.encode(), media_type=JSON, headers={
        "ETag": f'"{document.version}"', VERSION_HEADER: str(document.version),
        "Cache-Control": cache_control(bound), "X-Cache": "BYPASS"})


async def _views(read: ReadSide, documents: list[ProductDocument]) -> list[ProductView]:
    """The products as read: each joined with its category and its stock, which other
    read models hold (one query each for the whole page)."""
    if not documents:
        return []
    models = read.models
    categories = await models.get(CATEGORIES).get_many(
        {d.category_id for d in documents if d.category_id is not None})
    stock = await models.get(STOCK).get_many(stock_item_id(d.id) for d in documents)
    views = []
    for document in documents:
        level = stock.get(stock_item_id(document.id))
        category = categories.get(document.category_id) if document.category_id else None
        views.append(document.view(category, level.available if level else None))
    return views
