"""What the projectors and the read API need from a store, whatever backs it."""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from projections.folding import Changes
from schemas.catalog import InventoryDocument, ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.envelope import EventEnvelope

D = TypeVar("D")
SORT_FIELDS = {"created_at": "created_at", "price": "price_minor", "name": "name",
               "average_rating": "average_rating"}


class DocumentStore(Protocol[D]):
    async def setup(self) -> None:
        """Creates tables or indexes; safe to call on every start."""

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, D]:
        """The documents with these ids, deleted ones included."""

    async def write(self, changes: Changes[Any]) -> None:
        """Writes each document only if the store still holds the version it replaces,
        so a redelivered or concurrent batch changes nothing twice. A new document (it
        replaces version 0) is folded from the aggregate's creation on, so it is whole:
        it is written unless the store holds that version or a newer one."""

    async def version_of(self, aggregate_id: UUID) -> int:
        """The version the read model reflects, 0 if it has never seen the aggregate."""

    async def drop(self) -> None:
        """Removes every document (for rebuilding from history)."""

    async def documents(self) -> list[D]:
        """Every document, deleted ones included (for comparing with a rebuild)."""


class ProductStore(DocumentStore[ProductDocument], Protocol):
    async def get(self, product_id: UUID) -> ProductDocument | None:
        """The product, unless unknown or deleted."""

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        """One page of the products not deleted that match `query` (its `category` resolved
        to `category_id` by the caller), and how many match in all."""

    async def refresh_category(self, category: CategoryDocument) -> list[UUID]:
        """Shows `category`'s name and slug on its products that hold an older version
        of it; returns the ids of the products it changed."""


class CategoryStore(DocumentStore[CategoryDocument], Protocol):
    async def get(self, category_id: UUID) -> CategoryDocument | None: ...
    async def by_slug(self, slug: str) -> CategoryDocument | None: ...
    async def all(self) -> list[CategoryDocument]: ...


class InventoryStore(DocumentStore[InventoryDocument], Protocol):
    async def get(self, product_id: UUID) -> InventoryDocument | None: ...


@dataclass(frozen=True)
class ReadModels:
    """The read models of one backend, sharing its connection."""

    products: ProductStore
    categories: CategoryStore
    inventory: InventoryStore
    ping: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]

    async def setup(self) -> None:
        await self.products.setup()
        await self.categories.setup()
        await self.inventory.setup()

    async def version_of(self, aggregate_type: str, aggregate_id: UUID) -> int | None:
        """The read-model version of an aggregate; None for a type without a read model."""
        stores: dict[str, DocumentStore[Any]] = {
            "Product": self.products, "Category": self.categories,
        }
        store = stores.get(aggregate_type)
        return None if store is None else await store.version_of(aggregate_id)


class EventArchive(Protocol):
    async def setup(self) -> None: ...

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        """Stores the events it does not hold yet; returns how many it stored."""

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """One aggregate's rows, oldest first, as `projections.analytics.to_row` makes them."""

    async def rows(self) -> list[dict[str, Any]]:
        """Every row, by aggregate and version (for comparing with a rebuild)."""

    async def event_counts(self) -> dict[str, int]:
        """How many rows each event id has (1 everywhere when nothing is duplicated)."""

    async def drop(self) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
