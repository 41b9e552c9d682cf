"""The analytics facts as a projector: each batch's fact rows, written once (ADR 0011)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from prometheus_client import Counter

from projections.facts.rows import CONSUMES, Rows, fact_rows
from projections.facts.tables import FACT_TABLES
from projections.projector import Fold, Follows
from projections.stores.base import FactStore, ProjectionStores
from schemas.envelope import EventEnvelope

NAME = "analytics_facts"
GENERATION = "analytics:generation"  # in every cached analytics answer's key
WITHOUT_FIRST_FACT = Counter(
    "tanqory_analytics_events_without_first_fact_total",
    "Events that made no analytics fact: their aggregate's first fact is not held")
# The event that starts each kind of aggregate a later event needs the first fact of.
FIRSTS = {"Order": ("orders", "OrderPlaced"), "Payment": ("payments", "PaymentRequested"),
          "Shipment": ("shipments", "ShipmentCreated"),
          "StockItem": ("stock_items", "StockItemCreated"),
          "Product": ("products", "ProductCreated")}


@dataclass
class FactFold(Fold):
    rows: Rows = field(default_factory=dict)


def wanted(events: Sequence[EventEnvelope]) -> dict[str, set[str]]:
    """The aggregates whose first fact the batch needs but does not start."""
    ids: dict[str, set[str]] = {name: set() for name, _ in FIRSTS.values()}
    started: set[UUID] = set()
    for event in events:
        first = FIRSTS.get(event.aggregate_type)
        if first is None:
            continue
        if event.event_type == first[1]:
            started.add(event.aggregate_id)
        elif event.aggregate_id not in started:
            ids[first[0]].add(str(event.aggregate_id))
    return ids


class FactsProjector(Follows):
    name = NAME
    consumes = CONSUMES

    def __init__(self, stores: ProjectionStores) -> None:
        self._facts: FactStore = stores.facts

    async def fold(self, events: Sequence[EventEnvelope]) -> Fold:
        known = await self._facts.known(wanted(events))
        rows, missing = fact_rows(events, known, FACT_TABLES)
        WITHOUT_FIRST_FACT.inc(len(missing))
        return FactFold(events, rows=rows)

    async def write(self, fold: Fold) -> set[UUID]:
        """The aggregates of the batch when any row was new (the analytics answers move)."""
        assert isinstance(fold, FactFold)
        if await self._facts.write(fold.rows):
            return {e.aggregate_id for e in fold.events}
        return set()

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return [GENERATION]
