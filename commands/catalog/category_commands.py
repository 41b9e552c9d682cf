"""Category command handlers: load, call, save."""

from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.catalog.base import CatalogCommandBase
from commands.catalog.category import Category
from commands.catalog.keys import SlugIndex
from commands.errors import CategoryCycle, DuplicateSlug
from commands.event_sourced import CommandResult, meta_of
from schemas.categories import CreateCategory, MoveCategory, RenameCategory
from schemas.envelope import EventMetadata

CATEGORY = Category.published.aggregate_type


class CategoryCommands(CatalogCommandBase):
    def create_category(self, command: CreateCategory, meta: EventMetadata) -> CommandResult:
        self._check_live_category(command.parent_id)
        slug = command.effective_slug
        category = Category(name=command.name, slug=slug, parent_id=command.parent_id,
                            meta=meta_of(meta))
        index = self._reserve(SlugIndex, slug, category.id, DuplicateSlug)
        return self._save(CATEGORY, category, index, conflict=lambda: DuplicateSlug(slug))

    def rename_category(self, category_id: UUID, command: RenameCategory,
                        expected_version: int | None, meta: EventMetadata) -> CommandResult:
        category = self._load(Category, category_id, expected_version)
        indexes: list[Aggregate] = []
        if command.slug is not None and command.slug != category.slug:
            indexes = [self._reserve(SlugIndex, command.slug, category.id, DuplicateSlug),
                       self._release(SlugIndex, category.slug, category.id)]
        category.rename(command.name, command.slug, meta_of(meta))
        return self._save(CATEGORY, category, *indexes)

    def move_category(self, category_id: UUID, command: MoveCategory,
                      expected_version: int | None, meta: EventMetadata) -> CommandResult:
        category = self._load(Category, category_id, expected_version)
        self._check_live_category(command.parent_id)
        self._check_no_cycle(category_id, command.parent_id)
        category.move(command.parent_id, meta_of(meta))
        return self._save(CATEGORY, category)

    def archive_category(self, category_id: UUID, expected_version: int | None,
                         meta: EventMetadata) -> CommandResult:
        """Archived categories leave the tree and take no new products; the slug stays."""
        category = self._load(Category, category_id, expected_version)
        category.archive(meta_of(meta))
        return self._save(CATEGORY, category)

    def _check_no_cycle(self, category_id: UUID, parent_id: UUID | None) -> None:
        """Walks up from the new parent: meeting the category itself would close a loop."""
        seen: set[UUID] = set()
        while parent_id is not None and parent_id not in seen:
            if parent_id == category_id:
                raise CategoryCycle(category_id, parent_id)
            seen.add(parent_id)
            parent_id = self._load(Category, parent_id).parent_id
