"""Product commands over HTTP: each endpoint translates a request into one command."""

from uuid import UUID

from fastapi import Response, status

from commands.api.deps import (
    Admin,
    CatalogDep,
    CatalogEditor,
    Customer,
    RequestIdDep,
    event_metadata,
)
from commands.api.responses import ExpectedVersion, accepted
from commands.api.routing import command_router
from runtime.problems import problems
from schemas.api import CommandAccepted
from schemas.catalog import (
    ChangePrice,
    CreateProduct,
    RateProduct,
    ReplaceProduct,
    UpdateProduct,
)

router = command_router(prefix="/api/v1/products", tags=["products (commands)"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted,
             responses=problems(401, 403, 409, 422), summary="Create a product")
def create_product(command: CreateProduct, catalog: CatalogDep, principal: CatalogEditor,
                   request_id: RequestIdDep, response: Response) -> CommandAccepted:
    result = catalog.create_product(command, event_metadata(principal, request_id))
    response.headers["Location"] = f"/api/v1/products/{result.aggregate_id}"
    return accepted(result, response)


@router.patch("/{product_id}", response_model=CommandAccepted,
              responses=problems(400, 401, 403, 404, 409, 422),
              summary="Change some of a product's fields")
def update_product(product_id: UUID, command: UpdateProduct, catalog: CatalogDep,
                   principal: CatalogEditor, version: ExpectedVersion, request_id: RequestIdDep,
                   response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.update_product(product_id, command, version, meta), response)


@router.put("/{product_id}", response_model=CommandAccepted,
            responses=problems(400, 401, 403, 404, 409, 422),
            summary="Replace a product's fields (a full update; stock is the inventory's)")
def replace_product(product_id: UUID, command: ReplaceProduct, catalog: CatalogDep,
                    principal: CatalogEditor, version: ExpectedVersion, request_id: RequestIdDep,
                    response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.replace_product(product_id, command, version, meta), response)


@router.put("/{product_id}/price", response_model=CommandAccepted,
            responses=problems(400, 401, 403, 404, 409, 422),
            summary="Set price and sale price")
def change_price(product_id: UUID, command: ChangePrice, catalog: CatalogDep,
                 principal: CatalogEditor, version: ExpectedVersion, request_id: RequestIdDep,
                 response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.change_price(product_id, command, version, meta), response)


@router.post("/{product_id}/activate", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409), summary="Put a product on sale")
def activate_product(product_id: UUID, catalog: CatalogDep, principal: CatalogEditor,
                     version: ExpectedVersion, request_id: RequestIdDep,
                     response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.activate_product(product_id, version, meta), response)


@router.post("/{product_id}/deactivate", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409), summary="Take a product off sale")
def deactivate_product(product_id: UUID, catalog: CatalogDep, principal: CatalogEditor,
                       version: ExpectedVersion, request_id: RequestIdDep,
                       response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.deactivate_product(product_id, version, meta), response)


@router.delete("/{product_id}", response_model=CommandAccepted,
               responses=problems(400, 401, 403, 404, 409),
               summary="Delete a product (soft: it can be restored; its SKU is released)")
def delete_product(product_id: UUID, catalog: CatalogDep, principal: Admin,
                   version: ExpectedVersion, request_id: RequestIdDep,
                   response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.delete_product(product_id, version, meta), response)


@router.post("/{product_id}/restore", response_model=CommandAccepted,
             responses=problems(400, 401, 403, 404, 409),
             summary="Restore a deleted product (409 if its SKU was taken meanwhile)")
def restore_product(product_id: UUID, catalog: CatalogDep, principal: Admin,
                    version: ExpectedVersion, request_id: RequestIdDep,
                    response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    return accepted(catalog.restore_product(product_id, version, meta), response)


@router.post("/{product_id}/ratings", response_model=CommandAccepted,
             responses=problems(401, 403, 404, 409, 422),
             summary="Rate a product from 1 to 5 (as a customer; a new rating replaces yours)")
def rate_product(product_id: UUID, command: RateProduct, catalog: CatalogDep,
                 principal: Customer, request_id: RequestIdDep,
                 response: Response) -> CommandAccepted:
    meta = event_metadata(principal, request_id)
    result = catalog.rate_product(product_id, command, principal.subject, meta)
    return accepted(result, response)
