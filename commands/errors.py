"""Domain errors the command side raises; the HTTP layer maps them to problems."""

from uuid import UUID


class DomainError(Exception):
    """A command was refused by a rule of the domain."""

    status = 400
    type = "domain-error"


class NotFound(DomainError):
    status = 404
    type = "not-found"

    def __init__(self, kind: str, aggregate_id: UUID) -> None:
        super().__init__(f"{kind} {aggregate_id} not found")


class DuplicateSku(DomainError):
    status = 409
    type = "duplicate-sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU {sku!r} already exists")
        self.sku = sku


class VersionConflict(DomainError):
    """If-Match named a version the aggregate is no longer at."""

    status = 409
    type = "version-conflict"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"Expected version {expected}, but it is at version {actual}")
        self.actual = actual


class ConcurrentModification(DomainError):
    status = 409
    type = "concurrent-modification"

    def __init__(self) -> None:
        super().__init__("Changed by another request meanwhile; reload and retry")


class NotDeleted(DomainError):
    status = 409
    type = "not-deleted"

    def __init__(self, aggregate_id: UUID) -> None:
        super().__init__(f"Product {aggregate_id} is not deleted")


class DuplicateSlug(DomainError):
    status = 409
    type = "duplicate-slug"

    def __init__(self, slug: str) -> None:
        super().__init__(f"A category with slug {slug!r} already exists")


class UnknownCategory(DomainError):
    """A product or category names a category that does not exist or is archived."""

    status = 422
    type = "unknown-category"

    def __init__(self, category_id: UUID) -> None:
        super().__init__(f"Category {category_id} does not exist or is archived")


class CategoryCycle(DomainError):
    status = 409
    type = "category-cycle"

    def __init__(self, category_id: UUID, parent_id: UUID) -> None:
        super().__init__(f"Category {parent_id} is {category_id} itself or one of its descendants")
