"""HTTP response shapes shared by the command and read APIs."""

from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field

T = TypeVar("T")


class Pagination(BaseModel):
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


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: Pagination


class CommandAccepted(BaseModel):
    """What a successful command returns: the aggregate it touched and how to read it back."""

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

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
