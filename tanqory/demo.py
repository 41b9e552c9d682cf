"""Demo data that `tanqory serve` seeds, so a newcomer sees a live catalog at once: a small
category tree, products in it (some on sale, some rated by customers), a customer account
that can sign in, and its order awaiting payment, an analyst account for the dashboard,
and shoppers whose orders of the past weeks tanqory.demo_history records, all through the
contexts' own commands, as real data is (so the account's verification email and the
order's email are in the mail folder). Seeding again on the same data seeds nothing
twice: categories are known by their unique slug, products by their unique SKU, accounts
by their email, and the orders are placed only with the products."""

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from commands.catalog.application import CatalogApplication
from commands.catalog.keys import KeyIndex, SkuIndex, SlugIndex
from commands.customers.application import CustomersApplication
from commands.errors import DuplicateSku, DuplicateSlug, UnknownCategory
from commands.event_sourced import CommandResult
from commands.ordering.application import OrderingApplication
from schemas.catalog import CreateProduct, RateProduct
from schemas.categories import CreateCategory
from schemas.customers import Register
from schemas.envelope import Actor, EventMetadata
from schemas.ordering import Address, OrderLineRequest, PlaceOrder


@dataclass(frozen=True)
class DemoCategory:
    name: str
    slug: str
    parent: str | None = None  # the parent's slug


@dataclass(frozen=True)
class DemoProduct:
    product: CreateProduct  # without its category_id, which the seeding looks up
    category: str | None  # the category's slug
    ratings: tuple[int, ...] = ()  # one per demo customer, in order


DEMO_CATEGORIES = [  # parents before children
    DemoCategory("Coffee gear", "coffee-gear"),
    DemoCategory("Brewing", "brewing", parent="coffee-gear"),
    DemoCategory("Grinding", "grinding", parent="coffee-gear"),
    DemoCategory("Coffee", "coffee"),
    DemoCategory("Beans", "beans", parent="coffee"),
]
DEMO_PRODUCTS = [
    DemoProduct(CreateProduct(
        name="Espresso cup", description="Porcelain, 80 ml", sku="DEMO-CUP-80",
        price=Decimal("12.50"), sale_price=Decimal("9.90"), attributes={"colour": "white"},
        stock_quantity=40), "coffee-gear", ratings=(5, 4)),
    DemoProduct(CreateProduct(
        name="Pour-over kettle", description="Gooseneck, 1 l, stainless steel",
        sku="DEMO-KETTLE-1L", price=Decimal("49.00"), stock_quantity=12),
        "brewing", ratings=(5, 5, 4)),
    DemoProduct(CreateProduct(
        name="Paper filters", description="Size 02, unbleached, 100 pieces",
        sku="DEMO-FILTERS-100", price=Decimal("6.50"), sale_price=Decimal("5.20"),
        stock_quantity=300), "brewing"),
    DemoProduct(CreateProduct(
        name="Hand grinder", description="Ceramic burrs, 30 g hopper", sku="DEMO-GRINDER",
        price=Decimal("34.95"), stock_quantity=7), "grinding", ratings=(4, 3)),
    DemoProduct(CreateProduct(
        name="Electric burr grinder", description="Flat steel burrs, 40 settings",
        sku="DEMO-GRINDER-ELECTRIC", price=Decimal("129.00"), sale_price=Decimal("109.00"),
        stock_quantity=5), "grinding"),
    DemoProduct(CreateProduct(
        name="Single-origin beans", description="Washed Ethiopian, 250 g",
        sku="DEMO-BEANS-250", price=Decimal("14.20"),
        attributes={"roast": "light", "origin": "Yirgacheffe"}, stock_quantity=120),
        "beans", ratings=(5,)),
    DemoProduct(CreateProduct(
        name="House espresso blend", description="Brazil and Guatemala, 1 kg",
        sku="DEMO-BLEND-1KG", price=Decimal("32.00"), sale_price=Decimal("28.50"),
        attributes={"roast": "medium"}, stock_quantity=60), "beans", ratings=(4, 5)),
    DemoProduct(CreateProduct(
        name="Decaf beans", description="Swiss water process, Colombia, 250 g",
        sku="DEMO-DECAF-250", price=Decimal("13.80"), attributes={"roast": "medium"},
        stock_quantity=45), "beans", ratings=(4,)),
    DemoProduct(CreateProduct(
        name="Coffee scale", description="0.1 g resolution, with timer", sku="DEMO-SCALE",
        price=Decimal("39.00"), stock_quantity=6), "brewing", ratings=(5, 4)),
    DemoProduct(CreateProduct(
        name="Cold brew bottle", description="Glass, 1 l, with mesh filter",
        sku="DEMO-COLD-BREW", price=Decimal("24.90"), stock_quantity=18), "brewing"),
    DemoProduct(CreateProduct(
        name="Cleaning tablets", description="For espresso machines, 100 pieces",
        sku="DEMO-CLEANER", price=Decimal("11.40"), stock_quantity=4), "coffee-gear"),
    DemoProduct(CreateProduct(
        name="Milk frother", description="Handheld, battery powered", sku="DEMO-FROTHER",
        price=Decimal("17.50"), sale_price=Decimal("14.90"), stock_quantity=25), "coffee-gear"),
]
DEMO_CUSTOMERS = ("demo-customer-1", "demo-customer-2", "demo-customer-3")  # who rate
# The account that signs in and places the demo order (example.com: a domain for examples).
DEMO_ACCOUNT = Register(email="ada.lovelace@example.com", password="tanqory demo password",
                        name="Ada Lovelace")
DEMO_ORDER = {"DEMO-BEANS-250": 2, "DEMO-KETTLE-1L": 1}  # SKU → quantity
# A staff account that can read the dashboard (role analyst).
DEMO_ANALYST = Register(email="grace.hopper@example.com", password="tanqory demo password",
                        name="Grace Hopper")
ANALYST_ROLES = ("analyst",)
# The shoppers of the demo's order history, each with the address they ship to.
DEMO_SHOPPERS = (
    (Register(email="alan.turing@example.com", password="tanqory demo password",
              name="Alan Turing"),
     Address(name="Alan Turing", line1="2 Hollymeade", city="Wilmslow", postal_code="SK9 1QL",
             country="GB")),
    (Register(email="katherine.johnson@example.com", password="tanqory demo password",
              name="Katherine Johnson"),
     Address(name="Katherine Johnson", line1="1 NASA Drive", city="Hampton",
             postal_code="23681", country="US")),
    (Register(email="edsger.dijkstra@example.com", password="tanqory demo password",
              name="Edsger Dijkstra"),
     Address(name="Edsger Dijkstra", line1="Kruisstraat 1", city="Nuenen",
             postal_code="5671 GK", country="NL")),
    (Register(email="margaret.hamilton@example.com", password="tanqory demo password",
              name="Margaret Hamilton"),
     Address(name="Margaret Hamilton", line1="75 Cambridge Parkway", city="Cambridge",
             postal_code="02142", country="US")),
    (Register(email="barbara.liskov@example.com", password="tanqory demo password",
              name="Barbara Liskov"),
     Address(name="Barbara Liskov", line1="32 Vassar Street", city="Cambridge",
             postal_code="02139", country="US")),
)
DEMO_ADDRESS = Address(name="Ada Lovelace", line1="12 St James's Square", city="London",
                       postal_code="SW1Y 4JH", country="GB")
_SEEDER = EventMetadata(
    correlation_id="demo-seed", causation_id="demo-seed",
    actor=Actor(subject="demo-seed", roles=("admin",)),
)


def _as_customer(subject: str) -> EventMetadata:
    return EventMetadata(correlation_id="demo-seed", causation_id="demo-seed",
                         actor=Actor(subject=subject, roles=("customer",)))


@dataclass
class DemoSeed:
    """What one seeding recorded (`results`, in order), and every demo product's id by
    SKU, whether created now or by an earlier run."""

    results: list[CommandResult] = field(default_factory=list)
    products: dict[str, UUID] = field(default_factory=dict)

    @property
    def created_products(self) -> bool:
        return any(r.aggregate_type == "Product" and r.version == 1 for r in self.results)

    @property
    def last(self) -> CommandResult | None:
        """The result recorded last: once it is in the read models, all of them are."""
        recorded = [r for r in self.results if r.position is not None]
        return max(recorded, key=lambda r: r.position or 0, default=None)


def _owner(catalog: CatalogApplication, index: type[KeyIndex], key: str) -> UUID | None:
    """Who holds `key` in the index (None if nobody does)."""
    try:
        found: Aggregate = catalog.repository.get(index.create_id(key))
    except AggregateNotFoundError:
        return None
    assert isinstance(found, index)
    return found.owner_id


def seed_demo(catalog: CatalogApplication) -> DemoSeed:
    """Creates the demo categories and products not created before, and rates the products
    it creates. A category whose slug is taken is used as it is (looked up by slug)."""
    seed = DemoSeed()
    categories: dict[str, UUID | None] = {}
    for category in DEMO_CATEGORIES:
        parent = categories.get(category.parent) if category.parent else None
        try:
            result = catalog.create_category(
                CreateCategory(name=category.name, slug=category.slug, parent_id=parent),
                _SEEDER)
        except DuplicateSlug:
            categories[category.slug] = _owner(catalog, SlugIndex, category.slug)
        except UnknownCategory:  # its parent was archived meanwhile: leave it out
            categories[category.slug] = None
        else:
            seed.results.append(result)
            categories[category.slug] = result.aggregate_id
    for demo in DEMO_PRODUCTS:
        category_id = categories.get(demo.category) if demo.category else None
        try:
            created = _create_product(catalog, demo.product, category_id)
        except DuplicateSku:
            existing = _owner(catalog, SkuIndex, demo.product.sku)
            if existing is not None:
                seed.products[demo.product.sku] = existing
            continue
        seed.results.append(created)
        seed.products[demo.product.sku] = created.aggregate_id
        for customer, rating in zip(DEMO_CUSTOMERS, demo.ratings, strict=False):
            seed.results.append(catalog.rate_product(
                created.aggregate_id, RateProduct(rating=rating), customer,
                _as_customer(customer)))
    return seed


def _create_product(catalog: CatalogApplication, product: CreateProduct,
                    category_id: UUID | None) -> CommandResult:
    command = product.model_copy(update={"category_id": category_id})
    try:
        return catalog.create_product(command, _SEEDER)
    except UnknownCategory:  # archived since an earlier run: the product goes uncategorised
        return catalog.create_product(product, _SEEDER)


def demo_account(customers: CustomersApplication, account: Register = DEMO_ACCOUNT) -> UUID:
    """A demo account's id: registered on the first start, found by its email after."""
    found = customers.by_email(account.email)
    if found is not None:
        return UUID(str(found.id))
    return customers.register(account, _SEEDER).aggregate_id


def demo_analyst(customers: CustomersApplication) -> UUID:
    """The analyst's account, with the analyst role (set once: repeating it changes nothing)."""
    analyst = demo_account(customers, DEMO_ANALYST)
    customers.change_roles(analyst, ANALYST_ROLES, _SEEDER)
    return analyst


def place_demo_order(ordering: OrderingApplication, catalog: CatalogApplication,
                     products: dict[str, UUID], currency: str, customer: UUID) -> CommandResult:
    """The demo account's order of a few demo products, placed as the customer would: its
    address sealed with the customer's key."""
    lines = [OrderLineRequest(product_id=products[sku], quantity=quantity)
             for sku, quantity in DEMO_ORDER.items()]
    return ordering.place_order(
        str(customer), PlaceOrder(lines=lines, shipping_address=DEMO_ADDRESS), catalog,
        currency, _as_customer(str(customer)))
