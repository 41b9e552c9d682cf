"""POST /api/v1/products and friends: product commands over HTTP."""

from fastapi import APIRouter, Response, status

from commands.api.deps import CatalogDep, CatalogEditor, RequestIdDep, event_metadata
from commands.errors import DomainError
from runtime.problems import PROBLEM_RESPONSES, ProblemError
from schemas import consistency
from schemas.api import CommandAccepted
from schemas.catalog import CreateProduct

router = APIRouter(prefix="/api/v1/products", tags=["products (commands)"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses={k: v for k, v in PROBLEM_RESPONSES.items() if k in (401, 403, 409, 422)},
    summary="Create a product",
)
def create_product(
    command: CreateProduct,
    catalog: CatalogDep,
    principal: CatalogEditor,
    request_id: RequestIdDep,
    response: Response,
) -> CommandAccepted:
    try:
        result = catalog.create_product(command, event_metadata(principal, request_id))
    except DomainError as error:
        raise ProblemError(error.status, error.type, str(error)) from None
    token = result.token.encode()
    response.headers[consistency.HEADER] = token
    response.headers["Location"] = f"/api/v1/products/{result.aggregate_id}"
    response.headers["ETag"] = f'"{result.version}"'
    return CommandAccepted(id=result.aggregate_id, version=result.version, consistency_token=token)
