"""Every bounded context of the platform, listed once. See docs/architecture.md, "Adding a
context", for what an entry needs."""

from commands.api import categories as category_commands
from commands.api import inventory as inventory_commands
from commands.api import products as product_commands
from commands.catalog.application import CatalogApplication
from commands.catalog.category import Category
from commands.catalog.product import Product
from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from projections.catalog.projectors import CategoriesProjector, ProductsProjector
from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.event_history import EventHistoryProjector
from projections.inventory.projectors import MovementsProjector, StockProjector
from projections.inventory.read_models import MOVEMENTS, STOCK
from read_api import categories as category_queries
from read_api import inventory as inventory_queries
from read_api import products as product_queries
from streams.sagas.initial_stock import InitialStock
from tanqory.registry import Applications, BoundedContext, Registry


def _initial_stock(applications: Applications) -> InitialStock:
    inventory = applications[InventoryApplication.name]
    assert isinstance(inventory, InventoryApplication)
    return InitialStock(inventory)


CATALOG = BoundedContext(
    "catalog",
    application=CatalogApplication,
    aggregates=(Product, Category),
    command_routers=(product_commands.router, category_commands.router),
    query_routers=(product_queries.router, category_queries.router),
    read_models=(PRODUCTS, CATEGORIES),
    projectors=(CategoriesProjector, ProductsProjector),
)
INVENTORY = BoundedContext(
    "inventory",
    application=InventoryApplication,
    aggregates=(StockItem,),
    command_routers=(inventory_commands.router,),
    query_routers=(inventory_queries.router,),
    read_models=(STOCK, MOVEMENTS),
    projectors=(StockProjector, MovementsProjector),
    sagas=(_initial_stock,),
)
ANALYTICS = BoundedContext("analytics", projectors=(EventHistoryProjector,))

REGISTRY = Registry((CATALOG, INVENTORY, ANALYTICS))
