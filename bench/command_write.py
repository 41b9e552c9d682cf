"""Command write in SQLite: the catalog's create command against a bare eventsourcing save.

Ours validates the command, records the product and its SKU reservation atomically and
builds event metadata; the baseline saves the same Product aggregate alone.
"""

import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

from bench.timing import Figure, Scale, compare
from commands.catalog.application import CatalogApplication
from commands.catalog.product import Product
from schemas.catalog import CreateProduct
from schemas.envelope import Actor, EventMetadata

META = EventMetadata(correlation_id="bench", causation_id="bench",
                     actor=Actor(subject="bench", roles=("admin",)))


def _command() -> CreateProduct:
    return CreateProduct(name="Bench product", description="d", sku=f"B-{uuid.uuid4().hex[:16]}",
                         price=Decimal("10.00"), stock_quantity=1)


def run(scale: Scale) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        ours_app = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                           "SQLITE_DBNAME": str(Path(tmp) / "ours.sqlite3")})
        base_app = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                           "SQLITE_DBNAME": str(Path(tmp) / "base.sqlite3")})

        def ours(count: int) -> None:
            for _ in range(count):
                ours_app.create_product(_command(), META)

        def baseline(count: int) -> None:
            for _ in range(count):
                fields = _command().model_dump()
                base_app.save(Product(**fields, meta=META.model_dump(mode="json")))

        figure = compare("command write (sqlite)", ours, baseline, scale.n, scale.rounds)
        ours_app.close()
        base_app.close()
    return [figure]
