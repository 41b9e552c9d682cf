"""Demo products that `tanqory serve` seeds, so a newcomer sees a live catalog at once."""

from decimal import Decimal

from commands.catalog.application import CatalogApplication
from commands.errors import DuplicateSku
from commands.event_sourced import CommandResult
from schemas.catalog import CreateProduct
from schemas.envelope import Actor, EventMetadata

DEMO_PRODUCTS = [
    CreateProduct(name="Espresso cup", description="Porcelain, 80 ml", sku="DEMO-CUP-80",
                  price=Decimal("12.50"), sale_price=Decimal("9.90"),
                  attributes={"colour": "white"}, stock_quantity=40),
    CreateProduct(name="Pour-over kettle", description="Gooseneck, 1 l, stainless steel",
                  sku="DEMO-KETTLE-1L", price=Decimal("49.00"), stock_quantity=12),
    CreateProduct(name="Hand grinder", description="Ceramic burrs, 30 g hopper",
                  sku="DEMO-GRINDER", price=Decimal("34.95"), stock_quantity=7),
    CreateProduct(name="Single-origin beans", description="Washed Ethiopian, 250 g",
                  sku="DEMO-BEANS-250", price=Decimal("14.20"),
                  attributes={"roast": "light", "origin": "Yirgacheffe"}, stock_quantity=120),
]
_SEEDER = EventMetadata(
    correlation_id="demo-seed", causation_id="demo-seed",
    actor=Actor(subject="demo-seed", roles=("admin",)),
)


def seed_demo_products(catalog: CatalogApplication) -> list[CommandResult]:
    """Creates the demo products not created before (their SKUs are reserved once)."""
    created = []
    for product in DEMO_PRODUCTS:
        try:
            created.append(catalog.create_product(product, _SEEDER))
        except DuplicateSku:
            continue
    return created
