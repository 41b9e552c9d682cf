"""GET /api/v1/categories: the category tree and single categories."""

from uuid import UUID

from fastapi import APIRouter, Response

from projections.catalog.read_models import CATEGORIES
from read_api.consistency import CONSISTENCY_WAIT, parse_token, wait_until_visible
from read_api.deps import ConsistencyHeader, ReadSide, ReadSideDep, with_etag
from runtime.deps import SettingsDep
from runtime.problems import ProblemError, problems
from runtime.settings import Settings
from schemas.categories import (
    SLUG,
    CategoryDocument,
    CategoryNode,
    CategoryView,
    category_tree,
    view,
)

router = APIRouter(prefix="/api/v1/categories", tags=["categories (queries)"])


async def find_category(read: ReadSide, id_or_slug: str) -> CategoryDocument | None:
    """By id first; else by slug (a slug may look like an id). Text that cannot be a slug
    never reaches the store (PostgreSQL under FerretDB refuses a NUL, for one)."""
    found = None
    try:
        found = await read.models.get(CATEGORIES).get(UUID(id_or_slug))
    except ValueError:
        pass
    slug = id_or_slug.strip().lower()
    if found is None and SLUG.fullmatch(slug):
        found = await read.models.get(CATEGORIES).by_slug(slug)
    return found


async def _visible(read: ReadSide, settings: Settings, token: str | None) -> None:
    if token is not None:
        await wait_until_visible(read, parse_token(token), settings.consistency_timeout_seconds)


@router.get("", response_model=list[CategoryNode],
            responses=problems(400, 422, 503),
            summary="The category tree (archived categories left out)")
async def category_tree_view(read: ReadSideDep, settings: SettingsDep,
                             consistency_token: ConsistencyHeader = None) -> list[CategoryNode]:
    await _visible(read, settings, consistency_token)
    return category_tree(await read.models.get(CATEGORIES).all())


@router.get("/{id_or_slug}", response_model=CategoryView,
            responses=with_etag(problems(400, 404, 422, 503)),
            summary="One category, by id or by slug",
            description="The `ETag` is the category's version, for `If-Match` on a command."
            "\n\n" + CONSISTENCY_WAIT)
async def get_category(id_or_slug: str, read: ReadSideDep, settings: SettingsDep,
                       response: Response,
                       consistency_token: ConsistencyHeader = None) -> CategoryView:
    await _visible(read, settings, consistency_token)
    found = await find_category(read, id_or_slug)
    if found is None:
        raise ProblemError(404, "not-found", f"Category {id_or_slug} not found")
    response.headers["ETag"] = f'"{found.version}"'
    return view(found)
