"""Does every read model equal a fresh replay of its events? (operators' and tests' check)

Folds the whole history into empty documents with the same projectors the live handler
uses, and compares the result with the live read models, document by document.
Positions, versions and times all come from the events, so they must match too. Left out:
a product's `category_version`, bookkeeping of which category version its category name
came from (a replay takes the final one; the live model the last rename's).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from projections import categories, inventory, products
from projections.stores.base import ReadModels
from schemas.envelope import EventEnvelope


@dataclass(frozen=True)
class Difference:
    model: str
    id: str
    live: dict[str, Any] | None
    replayed: dict[str, Any] | None

    def describe(self) -> str:
        if self.live is None:
            return f"{self.model} {self.id}: missing from the live read model"
        if self.replayed is None:
            return f"{self.model} {self.id}: in the live read model, not in the history"
        fields = sorted(k for k in self.live.keys() | self.replayed.keys()
                        if self.live.get(k) != self.replayed.get(k))
        return f"{self.model} {self.id}: differs in {', '.join(fields)}"


def replay(events: Iterable[EventEnvelope]) -> dict[str, dict[str, Any]]:
    """Every read model, folded from nothing; categories first, as products show them."""
    history = list(events)
    category_docs, _ = categories.fold_categories({}, [
        e for e in history if e.aggregate_type == categories.AGGREGATE_TYPE])
    final_categories = {i: doc for i, (doc, _) in category_docs.items()}
    product_events = [e for e in history if e.aggregate_type == products.AGGREGATE_TYPE]
    product_docs, _ = products.fold_products({}, product_events, final_categories)
    inventory_docs, _ = inventory.fold_inventory({}, product_events)
    return {
        "categories": {str(i): d.model_dump(mode="json") for i, d in final_categories.items()},
        "products": {str(i): doc.model_dump(mode="json") for i, (doc, _) in product_docs.items()},
        "inventory": {str(i): doc.model_dump(mode="json")
                      for i, (doc, _) in inventory_docs.items()},
    }


async def live(models: ReadModels) -> dict[str, dict[str, Any]]:
    return {
        "categories": {str(d.id): d.model_dump(mode="json")
                       for d in await models.categories.documents()},
        "products": {str(d.id): d.model_dump(mode="json")
                     for d in await models.products.documents()},
        "inventory": {str(d.id): d.model_dump(mode="json")
                      for d in await models.inventory.documents()},
    }


BOOKKEEPING = {"products": {"category_version"}}


def compare(live_models: dict[str, dict[str, Any]],
            replayed: dict[str, dict[str, Any]]) -> list[Difference]:
    differences = []
    for model, expected in replayed.items():
        found = live_models.get(model, {})
        skip = BOOKKEEPING.get(model, set())
        for key in sorted(found.keys() | expected.keys()):
            have, want = _without(found.get(key), skip), _without(expected.get(key), skip)
            if have != want:
                differences.append(Difference(model, key, have, want))
    return differences


def _without(document: dict[str, Any] | None, fields: set[str]) -> dict[str, Any] | None:
    return None if document is None else {k: v for k, v in document.items() if k not in fields}
