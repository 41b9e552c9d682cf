"""Unique keys (a product's SKU, a category's slug, a customer's email) as index aggregates,
shared by the contexts that keep such keys (ADR 0004)."""

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.errors import DomainError


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


K = TypeVar("K", bound=KeyIndex)


def reserve(repository: Repository[UUID], index: type[K], key: str, owner_id: UUID,
            taken: Callable[[str], DomainError]) -> K:
    """The index of `key`, reserved for `owner_id` (a pending change to save with it)."""
    try:
        found: Aggregate = repository.get(index.create_id(key))
    except AggregateNotFoundError:
        return index(key=key, owner_id=owner_id)
    assert isinstance(found, index)
    if not found.is_free_for(owner_id):
        raise taken(key)
    if found.owner_id is None:
        found.claim(owner_id)
    return found


def release(repository: Repository[UUID], index: type[K], key: str, owner_id: UUID) -> K:
    found: Aggregate = repository.get(index.create_id(key))
    assert isinstance(found, index)
    if found.owner_id == owner_id:
        found.release()
    return found
