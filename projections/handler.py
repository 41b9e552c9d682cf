"""Applies a batch of events to every read model, whatever delivers them.

The Faust worker (server mode) and the in-process runner (embedded mode) both
hand their batches here, so both modes project the same way.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from projections import products
from projections.stores.base import EventArchive, ProductStore
from runtime.cache import Cache, product_key
from runtime.signals import Signals
from schemas.envelope import EventEnvelope

log = logging.getLogger(__name__)
PROJECTED = Counter("tanqory_events_projected_total", "Events applied to read models", ["model"])
REJECTED = Counter("tanqory_events_rejected_total", "Events a projector could not apply")


@dataclass(frozen=True)
class Rejected:
    event: EventEnvelope
    reason: str


class ProjectionHandler:
    def __init__(
        self, products: ProductStore, archive: EventArchive, cache: Cache, signals: Signals
    ) -> None:
        self.products = products
        self.archive = archive
        self.cache = cache
        self.signals = signals

    async def setup(self) -> None:
        await self.products.setup()
        await self.archive.setup()

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        """Projects `events` (in delivery order); returns those that cannot be applied.

        Idempotent: a batch delivered again changes nothing. Store errors propagate,
        so the caller retries the whole batch rather than skipping it.
        """
        product_events = [e for e in events if e.aggregate_type == products.AGGREGATE_TYPE]
        current = await self.products.get_many({e.aggregate_id for e in product_events})
        changed, rejected = products.fold(current, product_events)
        await self.products.write(changed)
        stored = await self.archive.append(events)
        await self.cache.delete(*(product_key(i) for i in changed))
        if changed:
            await self.signals.publish()
        PROJECTED.labels("products").inc(len(changed))
        PROJECTED.labels("events").inc(stored)
        for event, reason in rejected:
            log.error(
                "rejected event %s (%s v%d of %s): %s",
                event.event_id, event.event_type, event.aggregate_version, event.aggregate_id,
                reason, extra={"correlation_id": event.correlation_id},
            )
        REJECTED.inc(len(rejected))
        return [Rejected(e, r) for e, r in rejected]

    async def close(self) -> None:
        await self.products.close()
        await self.archive.close()
