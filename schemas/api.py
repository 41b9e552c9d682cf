"""HTTP response shapes shared by the command and read APIs."""

from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Pagination(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "current_page": 2, "per_page": 20, "total_items": 45, "total_pages": 3,
        "has_next_page": True, "has_prev_page": True}]})

    current_page: int
    per_page: int
    total_items: int
    total_pages: int
    has_next_page: bool
    has_prev_page: bool

    @classmethod
    def of(cls, page: int, per_page: int, total_items: int) -> "Pagination":
        total_pages = -(-total_items // per_page)
        return cls(
            current_page=page,
            per_page=per_page,
            total_items=total_items,
            total_pages=total_pages,
            has_next_page=page < total_pages,
            has_prev_page=page > 1,
        )


class PageQuery(BaseModel):
    """`page` and `limit` of a listing, as the standards' pagination has them."""

    model_config = ConfigDict(frozen=True)

    page: int = Field(default=1, ge=1, le=1_000_000)
    limit: int = Field(default=20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


class CommandAccepted(BaseModel):
    """What a successful command returns: the aggregate it touched and how to read it back."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "3374b305-9fbd-4c09-945f-10a1351a4341", "version": 2,
        "consistency_token": "v1.Product.3374b3059fbd4c09945f10a1351a4341.2"}]})

    id: UUID
    version: int
    consistency_token: str = Field(
        description="Send back as the X-Consistency-Token header to read your own write."
    )


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "urn:problem:tanqory:validation-error", "title": "Unprocessable Content",
        "status": 422, "detail": "The request is not valid", "instance": "/api/v1/products",
        "errors": [{"field": "price", "message": "Input should be greater than or equal to 0",
                    "type": "greater_than_equal"}]}]})

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
