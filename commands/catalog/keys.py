"""Unique keys (a product's SKU, a category's slug) as index aggregates."""

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


class KeyIndex(Aggregate):
    """Reserves one key, case-insensitively, for one owner at a time.

    Its id is derived from the key, so two owners racing for a new key both try
    to record version 1 of the same index and the store refuses one save
    atomically. An owner that goes away releases its key; another may claim it.
    These events are internal to the write side and never published.
    """

    # Each kind of key names its namespace. (Not annotated: the library would take an
    # annotated class attribute for an aggregate field.)
    namespace = NAMESPACE_URL

    @classmethod
    def create_id(cls, key: str, **_: Any) -> UUID:
        return uuid5(cls.namespace, key.upper())

    @event("Reserved")
    def __init__(self, *, key: str, owner_id: UUID) -> None:
        self.key = key
        self.owner_id: UUID | None = owner_id

    def is_free_for(self, owner_id: UUID) -> bool:
        return self.owner_id in (None, owner_id)

    @event("Claimed")
    def claim(self, owner_id: UUID) -> None:
        self.owner_id = owner_id

    @event("Released")
    def release(self) -> None:
        self.owner_id = None


class SkuIndex(KeyIndex):
    namespace = uuid5(NAMESPACE_URL, "tanqory:catalog:sku")


class SlugIndex(KeyIndex):
    namespace = uuid5(NAMESPACE_URL, "tanqory:catalog:category-slug")
