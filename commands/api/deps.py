"""Dependencies of the command API, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

from commands.catalog.application import CatalogApplication
from runtime.auth import Principal, Role
from runtime.deps import RequestIdDep, require_roles
from schemas.envelope import EventMetadata


async def get_catalog(request: Request) -> CatalogApplication:
    return request.app.state.applications[CatalogApplication.name]  # type: ignore[no-any-return]


CatalogDep = Annotated[CatalogApplication, Depends(get_catalog)]
CatalogEditor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.PRODUCT_MANAGER))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Customer = Annotated[Principal, Depends(require_roles(Role.CUSTOMER))]


def event_metadata(principal: Principal, request_id: str) -> EventMetadata:
    """The request id becomes the correlation id of every event the command records."""
    return EventMetadata(
        correlation_id=request_id, causation_id=request_id, actor=principal.as_actor()
    )


__all__ = ["Admin", "CatalogDep", "CatalogEditor", "Customer", "RequestIdDep", "event_metadata"]
