"""What the catalog's command handlers share beyond every context's base: live
categories and unique keys (SKUs, slugs) reserved through index aggregates."""

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from commands.catalog.category import Category
from commands.errors import DomainError, NotFound, UnknownCategory
from commands.event_sourced import EventSourcedContext
from commands.keys import KeyIndex, release, reserve

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
        return reserve(self.repository, index, key, owner_id, taken)

    def _release(self, index: type[K], key: str, owner_id: UUID) -> K:
        return release(self.repository, index, key, owner_id)
