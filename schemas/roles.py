"""The roles a principal may hold (JWT `roles`), checked per command and query."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCT_MANAGER = "product_manager"
    INVENTORY_MANAGER = "inventory_manager"
    ORDER_MANAGER = "order_manager"
    CUSTOMER = "customer"
    ANALYST = "analyst"
