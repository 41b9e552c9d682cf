"""Applies a batch of events to every read model, whatever delivers them.

The Faust worker (server mode) and the in-process runner (embedded mode) both
hand their batches here, so both modes project the same way.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from prometheus_client import Counter

from projections import categories, inventory, products
from projections.stores.base import EventArchive, ReadModels
from runtime.cache import LISTING_GENERATION, Cache, product_generation
from runtime.signals import Signals
from schemas.categories import CategoryDocument
from schemas.envelope import EventEnvelope

log = logging.getLogger(__name__)
# Longer than any cached read lives, so a generation never restarts under a cached value.
GENERATION_TTL_SECONDS = 24 * 3600
PROJECTED = Counter("tanqory_documents_projected_total", "Read-model documents written",
                    ["model"])
ARCHIVED = Counter("tanqory_events_archived_total", "Events added to the event history")
REJECTED = Counter("tanqory_events_rejected_total", "Events a projector could not apply")


@dataclass(frozen=True)
class Rejected:
    event: EventEnvelope
    reason: str


def _continued(events: Sequence[EventEnvelope]) -> set[UUID]:
    """The aggregates whose stored documents the fold starts from: those whose first event
    here is not their creation. One created here is folded from nothing, whole, and the
    store writes it over any older version it holds (a redelivery): no read needed."""
    first: dict[UUID, int] = {}
    for event in events:
        first.setdefault(event.aggregate_id, event.aggregate_version)
    return {aggregate_id for aggregate_id, version in first.items() if version > 1}


class ProjectionHandler:
    def __init__(self, read_models: ReadModels, archive: EventArchive, cache: Cache,
                 signals: Signals) -> None:
        self.read_models = read_models
        self.archive = archive
        self.cache = cache
        self.signals = signals

    async def setup(self) -> None:
        await self.read_models.setup()
        await self.archive.setup()

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        """Projects `events` (in delivery order); returns those that cannot be applied.

        Idempotent: a batch delivered again changes nothing. Store errors propagate,
        so the caller retries the whole batch rather than skipping it.
        """
        touched: set[UUID] = set()
        renamed, rejected = await self._categories(events, touched)
        rejected += await self._products(events, touched)
        for category in renamed:  # again: closes the race with a concurrent product write
            touched.update(await self.read_models.products.refresh_category(category))
        ARCHIVED.inc(await self.archive.append(events))
        if touched or renamed:
            generations = [product_generation(product_id) for product_id in touched]
            await self.cache.incr_many([*generations, LISTING_GENERATION],
                                       GENERATION_TTL_SECONDS)
            await self.signals.publish()
        for event, reason in rejected:
            log.error("rejected event %s (%s v%d of %s): %s", event.event_id, event.event_type,
                      event.aggregate_version, event.aggregate_id, reason,
                      extra={"correlation_id": event.correlation_id})
        REJECTED.inc(len(rejected))
        return [Rejected(e, r) for e, r in rejected]

    async def _categories(
        self, events: Sequence[EventEnvelope], touched: set[UUID]
    ) -> tuple[list[CategoryDocument], list[tuple[EventEnvelope, str]]]:
        """Folds category events; products show a new name or slug before the category
        document does, so a reader who waits for the category sees its products right."""
        mine = [e for e in events if e.aggregate_type == categories.AGGREGATE_TYPE]
        store = self.read_models.categories
        current = await store.get_many(_continued(mine))
        changed, rejected = categories.fold_categories(current, mine)
        renamed = [doc for i, (doc, _) in changed.items()
                   if i not in current or (current[i].name, current[i].slug) != (doc.name, doc.slug)]
        for category in renamed:
            touched.update(await self.read_models.products.refresh_category(category))
        await store.write(changed)
        PROJECTED.labels("categories").inc(len(changed))
        return renamed, rejected

    async def _products(self, events: Sequence[EventEnvelope],
                        touched: set[UUID]) -> list[tuple[EventEnvelope, str]]:
        mine = [e for e in events if e.aggregate_type == products.AGGREGATE_TYPE]
        await self._inventory(mine)  # first: a product's version then vouches for it too
        store = self.read_models.products
        current = await store.get_many(_continued(mine))
        category_docs = await self.read_models.categories.get_many(
            products.referenced_categories(mine))
        changed, rejected = products.fold_products(current, mine, category_docs)
        await store.write(changed)
        touched.update(changed)
        # A category may have changed while this batch was folded: show the latest.
        written = {doc.category_id for doc, _ in changed.values() if doc.category_id}
        for category in (await self.read_models.categories.get_many(written)).values():
            touched.update(await store.refresh_category(category))
        PROJECTED.labels("products").inc(len(changed))
        return rejected

    async def _inventory(self, product_events: list[EventEnvelope]) -> None:
        """Every product starts an inventory record (the catalog's fan-out to inventory).
        Its rejections are the products fold's too, which reports them."""
        store = self.read_models.inventory
        current = await store.get_many(_continued(product_events))
        changed, _ = inventory.fold_inventory(current, product_events)
        await store.write(changed)
        PROJECTED.labels("inventory").inc(len(changed))

    async def close(self) -> None:
        await self.read_models.close()
        await self.archive.close()
