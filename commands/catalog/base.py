"""What the catalog's command handlers share beyond every context's base: live
categories and unique keys (SKUs, slugs) reserved through index aggregates."""

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from commands.catalog.category import Category
from commands.catalog.keys import KeyIndex
from commands.errors import DomainError, NotFound, UnknownCategory
from commands.event_sourced import EventSourcedContext

K = TypeVar("K", bound=KeyIndex)


class CatalogCommandBase(EventSourcedContext):
    def _check_live_category(self, category_id: UUID | None) -> None:
        """A product or a category may only hang from a category that exists, unarchived."""
        if category_id is None:
            return
        try:
            category = self._load(Category, category_id)
        except NotFound:
            raise UnknownCategory(category_id) from None
        if category.archived:
            raise UnknownCategory(category_id)

    def _reserve(self, index: type[K], key: str, owner_id: UUID,
                 taken: Callable[[str], DomainError]) -> K:
        """The index of `key`, reserved for `owner_id` (a pending change to save with it)."""
        try:
            found: Aggregate = self.repository.get(index.create_id(key))
        except AggregateNotFoundError:
            return index(key=key, owner_id=owner_id)
        assert isinstance(found, index)
        if not found.is_free_for(owner_id):
            raise taken(key)
        if found.owner_id is None:
            found.claim(owner_id)
        return found

    def _release(self, index: type[K], key: str, owner_id: UUID) -> K:
        found: Aggregate = self.repository.get(index.create_id(key))
        assert isinstance(found, index)
        if found.owner_id == owner_id:
            found.release()
        return found
