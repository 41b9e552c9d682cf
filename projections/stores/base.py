"""What the projectors and the read API need from a store, whatever backs it."""

from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from schemas.catalog import ProductDocument, ProductListQuery
from schemas.envelope import EventEnvelope

# A changed document and the version it replaces (0 when it is new).
Changes = dict[UUID, tuple[ProductDocument, int]]

SORT_FIELDS = {"created_at": "created_at", "price": "price_minor", "name": "name"}


class ProductStore(Protocol):
    async def setup(self) -> None:
        """Creates tables or indexes; safe to call on every start."""

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, ProductDocument]: ...

    async def write(self, changes: Changes) -> None:
        """Writes each document only if the store still holds the version it replaces,
        so a redelivered or concurrent batch changes nothing twice."""

    async def get(self, product_id: UUID) -> ProductDocument | None: ...

    async def list(self, query: ProductListQuery) -> tuple[list[ProductDocument], int]:
        """One page of products not deleted, and how many there are in all."""

    async def version_of(self, product_id: UUID) -> int:
        """The version the read model reflects, 0 if it has never seen the product."""

    async def drop(self) -> None:
        """Removes every document (for rebuilding from history)."""

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class EventArchive(Protocol):
    async def setup(self) -> None: ...

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        """Stores the events it does not hold yet; returns how many it stored."""

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """One aggregate's rows, oldest first, as `projections.analytics.to_row` makes them."""

    async def event_counts(self) -> dict[str, int]:
        """How many rows each event id has (1 everywhere when nothing is duplicated)."""

    async def drop(self) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
