"""Every bounded context of the platform, listed once. See docs/architecture.md, "Adding a
context", for what an entry needs."""

from typing import TypeVar

from commands.api import auth as account_commands
from commands.api import categories as category_commands
from commands.api import inventory as inventory_commands
from commands.api import orders as order_commands
from commands.api import payments as payment_commands
from commands.api import products as product_commands
from commands.api import shipments as shipment_commands
from commands.catalog.application import CatalogApplication
from commands.catalog.category import Category
from commands.catalog.product import Product
from commands.customers.application import CustomersApplication
from commands.customers.customer import Customer
from commands.event_sourced import EventSourcedContext
from commands.fulfilment.application import FulfilmentApplication
from commands.fulfilment.shipment import Shipment
from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from commands.notifications.application import NotificationsApplication
from commands.notifications.notification import Notification
from commands.ordering.application import OrderingApplication
from commands.ordering.order import Order
from commands.payments.application import PaymentsApplication
from commands.payments.payment import Payment
from projections.catalog.projectors import CategoriesProjector, ProductsProjector
from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.customers.projectors import CustomersProjector
from projections.customers.read_models import CUSTOMERS as CUSTOMER_DOCUMENTS
from projections.event_history import EventHistoryProjector
from projections.facts.projector import FactsProjector
from projections.fulfilment.projectors import ShipmentsProjector
from projections.fulfilment.read_models import SHIPMENTS
from projections.inventory.projectors import MovementsProjector, StockProjector
from projections.inventory.read_models import MOVEMENTS, STOCK
from projections.notifications.projectors import NotificationsProjector
from projections.notifications.read_models import NOTIFICATIONS as NOTIFICATION_DOCUMENTS
from projections.ordering.projectors import OrdersProjector
from projections.ordering.read_models import ORDERS
from projections.payments.projectors import PaymentsProjector
from projections.payments.read_models import PAYMENTS as PAYMENT_DOCUMENTS
from read_api import analytics as analytics_queries
from read_api import categories as category_queries
from read_api import customers as customer_queries
from read_api import event_history as event_history_queries
from read_api import inventory as inventory_queries
from read_api import notifications as notification_queries
from read_api import orders as order_queries
from read_api import products as product_queries
from read_api import shipments as shipment_queries
from streams.notifications.mailer import mailer_for
from streams.notifications.notifier import Notifier
from streams.sagas.initial_stock import InitialStock
from streams.sagas.orders import OrderProcess
from tanqory.registry import ANALYTICS_LANE, Applications, BoundedContext, Registry, SagaParts

A = TypeVar("A", bound=EventSourcedContext)


def _application(applications: Applications, kind: type[A]) -> A:
    application = applications[kind.name]
    assert isinstance(application, kind)
    return application


def _initial_stock(parts: SagaParts) -> InitialStock:
    return InitialStock(_application(parts.applications, InventoryApplication))


def _order_process(parts: SagaParts) -> OrderProcess:
    apps = parts.applications
    return OrderProcess(
        _application(apps, OrderingApplication), _application(apps, InventoryApplication),
        _application(apps, PaymentsApplication), _application(apps, FulfilmentApplication),
        parts.deadlines("payment"), parts.settings.payment_deadline_seconds)


def _notifier(parts: SagaParts) -> Notifier:
    apps = parts.applications
    return Notifier(parts.settings, _application(apps, CustomersApplication),
                    _application(apps, OrderingApplication),
                    _application(apps, NotificationsApplication), parts.personal,
                    mailer_for(parts.settings))


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
ORDERING = BoundedContext(
    "ordering",
    application=OrderingApplication,
    aggregates=(Order,),
    command_routers=(order_commands.router,),
    query_routers=(order_queries.router,),
    read_models=(ORDERS,),
    projectors=(OrdersProjector,),
    sagas=(_order_process,),
)
PAYMENTS = BoundedContext(
    "payments",
    application=PaymentsApplication,
    aggregates=(Payment,),
    command_routers=(payment_commands.router,),
    read_models=(PAYMENT_DOCUMENTS,),  # shown in their orders' views
    projectors=(PaymentsProjector,),
)
FULFILMENT = BoundedContext(
    "fulfilment",
    application=FulfilmentApplication,
    aggregates=(Shipment,),
    command_routers=(shipment_commands.router,),
    query_routers=(shipment_queries.router,),
    read_models=(SHIPMENTS,),
    projectors=(ShipmentsProjector,),
)
CUSTOMERS = BoundedContext(
    "customers",
    application=CustomersApplication,
    aggregates=(Customer,),
    command_routers=(account_commands.router,),
    query_routers=(customer_queries.router,),
    read_models=(CUSTOMER_DOCUMENTS,),
    projectors=(CustomersProjector,),
)
NOTIFICATIONS = BoundedContext(
    "notifications",
    application=NotificationsApplication,
    aggregates=(Notification,),
    query_routers=(notification_queries.router,),
    read_models=(NOTIFICATION_DOCUMENTS,),
    projectors=(NotificationsProjector,),
    notifiers=(_notifier,),
)
ANALYTICS = BoundedContext("analytics", projectors=(EventHistoryProjector, FactsProjector),
                           lane=ANALYTICS_LANE,
                           query_routers=(event_history_queries.router,
                                          analytics_queries.router))

REGISTRY = Registry((CATALOG, INVENTORY, ORDERING, PAYMENTS, FULFILMENT, CUSTOMERS,
                     NOTIFICATIONS, ANALYTICS))
