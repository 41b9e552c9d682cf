"""The Category aggregate."""

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.publishing import Published
from schemas.catalog import NoPayload
from schemas.categories import CategoryCreated, CategoryMoved, CategoryRenamed

Meta = dict[str, Any]


class Category(Aggregate):
    """A node of the catalog's category tree."""

    published: ClassVar[Published] = Published(
        context="catalog",
        aggregate_type="Category",
        events={
            "Created": (CategoryCreated, 1),
            "Renamed": (CategoryRenamed, 1),
            "Moved": (CategoryMoved, 1),
            "Archived": (NoPayload, 1),
        },
    )

    @event("Created")
    def __init__(self, *, name: str, slug: str, parent_id: UUID | None, meta: Meta) -> None:
        self.name = name
        self.slug = slug
        self.parent_id = parent_id
        self.archived = False

    def rename(self, name: str | None, slug: str | None, meta: Meta) -> None:
        new_name, new_slug = name or self.name, slug or self.slug
        if (new_name, new_slug) != (self.name, self.slug):
            self._renamed(name=new_name, slug=new_slug, meta=meta)

    def move(self, parent_id: UUID | None, meta: Meta) -> None:
        if parent_id != self.parent_id:
            self._moved(parent_id=parent_id, meta=meta)

    def archive(self, meta: Meta) -> None:
        if not self.archived:
            self._archived(meta=meta)

    @event("Renamed")
    def _renamed(self, name: str, slug: str, meta: Meta) -> None:
        self.name = name
        self.slug = slug

    @event("Moved")
    def _moved(self, parent_id: UUID | None, meta: Meta) -> None:
        self.parent_id = parent_id

    @event("Archived")
    def _archived(self, meta: Meta) -> None:
        self.archived = True
