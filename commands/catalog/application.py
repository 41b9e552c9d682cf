"""The catalog's command handlers, one Application over one event store."""

from commands.catalog.category_commands import CategoryCommands
from commands.catalog.product_commands import ProductCommands
from commands.event_sourced import CommandResult

__all__ = ["CatalogApplication", "CommandResult"]


class CatalogApplication(ProductCommands, CategoryCommands):
    name = "catalog"
