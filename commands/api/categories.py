"""Category commands over HTTP."""

from uuid import UUID

from fastapi import Response, status

from commands.api.deps import (
    Admin,
    CatalogDep,
    CatalogEditor,
    RequestIdDep,
    event_metadata,
)
from commands.api.responses import ExpectedVersion, accepted
from commands.api.routing import command_router
from runtime.problems import problems
from schemas.api import CommandAccepted
from schemas.categories import CreateCategory, MoveCategory, RenameCategory

router = command_router(prefix="/api/v1/categories", tags=["categories (commands)"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422), summary="Create a category")
def create_category(command: CreateCategory, catalog: CatalogDep, principal: CatalogEditor,
                    request_id: RequestIdDep, response: Response) -> CommandAccepted:
    result = catalog.create_category(command, event_metadata(principal, request_id))
    response.headers["Location"] = f"/api/v1/categories/{result.aggregate_id}"
    return accepted(result, response)


@router.patch("/{category_id}", response_model=CommandAccepted,
              responses=problems(400, 401, 403, 404, 409, 422),
              summary="Rename a category (name and/or slug)")
def rename_category(category_id: UUID, command: RenameCategory, catalog: CatalogDep,
                    principal: CatalogEditor, version: ExpectedVersion, request_id: RequestIdDep,
                    response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.rename_category(category_id, command, version, meta), response)


@router.post("/{category_id}/move", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409, 422),
             summary="Move a category under another (or to the root with null)")
def move_category(category_id: UUID, command: MoveCategory, catalog: CatalogDep,
                  principal: CatalogEditor, version: ExpectedVersion, request_id: RequestIdDep,
                  response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.move_category(category_id, command, version, meta), response)


@router.post("/{category_id}/archive", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409),
             summary="Archive a category: out of the tree, no new products")
def archive_category(category_id: UUID, catalog: CatalogDep, principal: Admin,
                     version: ExpectedVersion, request_id: RequestIdDep,
                     response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.archive_category(category_id, version, meta), response)
