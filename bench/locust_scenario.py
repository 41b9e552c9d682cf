"""The Locust scenario (a locustfile): browsers and shoppers on the server platform.

`python -m bench.locust_run` seeds the catalog, starts the platform and runs this file
with `--host` (the command API), `--read-host` (the read API) and `--seed-file` (what it
seeded, as JSON: product ids and category slugs); both hosts must be loopback addresses.

- `Browser` (the read API, no account): lists products by each sort in both orders, lists
  a category's products, searches, reads products by id, and reads the category tree.
- `Shopper` (a customer): registers and signs in once, as the API wants (email and
  password; the access token refreshed before it expires), then places orders of two
  lines and follows each one on the read API (polling its order) until its stock is
  reserved and its payment requested; pays with a test card; delivers the payment
  provider's signed `payment_intent.succeeded` webhook (stripe-mock, the provider in server
  mode here, sends none) with the webhook secret from `TANQORY_STRIPE_WEBHOOK_SECRET`; and
  follows the order until it is paid.

Requests are named by route, so Locust's figures are per endpoint. Each order's whole
journey is one more entry ("order placed → paid", type FLOW); an order that does not reach
the next state within `ORDER_WAIT_SECONDS`, or ends in another, is a failure of it. An
order read whose consistency wait ran out (503 with Retry-After) is retried after the
pause, as the API asks, and counted on a RETRY line instead of as a failure.
"""

import functools
import ipaddress
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment

from commands.payments.webhooks import intent_event, sign
from schemas.money import to_minor_units
from schemas.payments import Outcome

SORTS = ("created_at", "price", "name", "average_rating")
SEARCHES = ("bench", "product 1", "bench 2", "product 3", "7")  # names: "Bench product <n>"
PAGE_LIMIT = 20
ORDER_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.25
TOKEN_MARGIN_SECONDS = 60  # an access token is refreshed this long before it expires
WEBHOOK_SECRET_ENV = "TANQORY_STRIPE_WEBHOOK_SECRET"
ORDERS, ORDER = "/api/v1/orders", "/api/v1/orders/[id]"
FINAL = frozenset({"rejected", "cancelled", "expired"})


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--read-host", default="", help="the read API's base URL")
    parser.add_argument("--seed-file", default="", help="JSON: product ids, category slugs")


@events.init.add_listener
def _loopback_only(environment: Environment, **_: Any) -> None:
    """Refuses to start against anything but this machine."""
    options = environment.parsed_options
    for url in (environment.host or "", options.read_host if options else ""):
        host = urlsplit(url).hostname or ""
        if host != "localhost" and not _is_loopback(host):
            raise ValueError(f"load goes to loopback addresses only, not {url!r}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Seed:
    read_host: str
    products: list[str]
    categories: list[str]


@functools.cache
def seed_of(path: str, read_host: str) -> Seed:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Seed(read_host.rstrip("/"), list(data["products"]), list(data["categories"]))


def _seed(user: HttpUser) -> Seed:
    options = user.environment.parsed_options
    return seed_of(options.seed_file, options.read_host)


class Browser(HttpUser):
    """Someone looking around the catalog on the read API."""

    weight = 3
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.seed = _seed(self)

    def _get(self, path: str, name: str, **params: Any) -> None:
        self.client.get(f"{self.seed.read_host}{path}", params=params, name=name)

    @task(4)
    def list_sorted(self) -> None:
        sort, order = random.choice(SORTS), random.choice(("asc", "desc"))
        self._get("/api/v1/products", f"/api/v1/products?sort={sort}&order={order}",
                  sort=sort, order=order, limit=PAGE_LIMIT, page=random.randint(1, 3))

    @task(2)
    def list_category(self) -> None:
        self._get("/api/v1/products", "/api/v1/products?category=[slug]",
                  category=random.choice(self.seed.categories), limit=PAGE_LIMIT)

    @task(2)
    def search(self) -> None:
        self._get("/api/v1/products", "/api/v1/products?search=[words]",
                  search=random.choice(SEARCHES), limit=PAGE_LIMIT)

    @task(4)
    def read_product(self) -> None:
        self._get(f"/api/v1/products/{random.choice(self.seed.products)}",
                  "/api/v1/products/[id]")

    @task(1)
    def categories(self) -> None:
        self._get("/api/v1/categories", "/api/v1/categories")


class OrderFailed(Exception):
    """The order did not reach the state it should have, in time or at all."""


class Shopper(HttpUser):
    """A customer who signs in, then orders and pays, one order after another."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.seed = _seed(self)
        email = f"load-{uuid.uuid4().hex[:16]}@example.com"
        password = f"Load-{uuid.uuid4().hex}"
        self.client.post("/api/v1/auth/register", name="/api/v1/auth/register",
                         json={"email": email, "password": password, "name": "Load Shopper"})
        self._tokens(self.client.post("/api/v1/auth/login", name="/api/v1/auth/login",
                                      json={"email": email, "password": password}))

    def _tokens(self, response: Any) -> None:
        body = response.json()
        self.access, self.refresh_token = body["access_token"], body["refresh_token"]
        self.expires_at = time.monotonic() + body["expires_in"] - TOKEN_MARGIN_SECONDS

    def _auth(self) -> dict[str, str]:
        if time.monotonic() > self.expires_at:
            self._tokens(self.client.post("/api/v1/auth/refresh", name="/api/v1/auth/refresh",
                                          json={"refresh_token": self.refresh_token}))
        return {"Authorization": f"Bearer {self.access}"}

    @task
    def order_and_pay(self) -> None:
        started = time.perf_counter()
        try:
            self._order_and_pay()
        except OrderFailed as error:
            self._flow(started, error)
        else:
            self._flow(started, None)

    def _flow(self, started: float, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="FLOW", name="order placed → paid", response_length=0,
            response_time=(time.perf_counter() - started) * 1000, exception=error, context={})

    def _order_and_pay(self) -> None:
        first, second = random.sample(self.seed.products, 2)
        placed = self.client.post(ORDERS, name=ORDERS, headers=self._auth(), json={
            "lines": [{"product_id": first, "quantity": 1},
                      {"product_id": second, "quantity": 1}],
            "shipping_address": {"name": "Load Shopper", "line1": "1 Loopback Lane",
                                 "city": "London", "postal_code": "SW1Y 4JH",
                                 "country": "GB"}})
        if placed.status_code != 201:
            raise OrderFailed(f"placing answered {placed.status_code}")
        order_id = placed.json()["id"]
        order = self._follow(order_id, "awaiting_payment", placed.headers["X-Consistency-Token"])
        paid = self.client.post(f"{ORDERS}/{order_id}/pay", name=f"{ORDER}/pay",
                                headers=self._auth(), json={"payment_method": "pm_card_visa"})
        if paid.status_code != 202:
            raise OrderFailed(f"paying answered {paid.status_code}")
        self._webhook(order_id, order["payment"])
        self._follow(order_id, "paid", paid.headers["X-Consistency-Token"])

    def _follow(self, order_id: str, status: str, token: str) -> dict[str, Any]:
        """The order once it has `status` (and, awaiting payment, its payment requested)."""
        url = f"{self.seed.read_host}{ORDERS}/{order_id}"
        deadline = time.monotonic() + ORDER_WAIT_SECONDS
        while time.monotonic() < deadline:
            order = self._read_order(url, token)
            if order.get("status") == status and (status != "awaiting_payment"
                                                  or order.get("payment")):
                return order
            if order.get("status") in FINAL:
                raise OrderFailed(f"order {order_id} is {order['status']}, not {status}")
            gevent.sleep(POLL_SECONDS)
        raise OrderFailed(f"order {order_id} not {status} in {ORDER_WAIT_SECONDS:.0f} s")

    def _read_order(self, url: str, token: str) -> dict[str, Any]:
        """The order read with the last command's token: the read waits (bounded) until it
        shows that command, so the order is never missing as from a lagging read. When the
        wait runs out the API answers 503 with Retry-After, which a client honours: that
        read is not a failure, but counted (one RETRY line) and retried after the pause."""
        headers = {**self._auth(), "X-Consistency-Token": token}
        with self.client.get(url, name=ORDER, headers=headers, catch_response=True) as found:
            retry_after = found.headers.get("Retry-After")
            if found.status_code == 503 and retry_after is not None:
                found.success()
                self.environment.events.request.fire(
                    request_type="RETRY", name="503 Retry-After (consistency wait ran out)",
                    response_time=0, response_length=0, exception=None, context={})
                gevent.sleep(float(retry_after))
                return {}
            return found.json() if found.status_code == 200 else {}

    def _webhook(self, order_id: str, payment: dict[str, Any]) -> None:
        """What the provider sends once the payment succeeded, signed as it signs."""
        payload = intent_event(Outcome.SUCCEEDED, payment["reference"], uuid.UUID(order_id),
                               to_minor_units(Decimal(payment["amount"])), payment["currency"])
        signature = sign(payload, os.environ[WEBHOOK_SECRET_ENV])
        self.client.post("/api/v1/payments/webhooks/stripe", name="/api/v1/payments/webhooks",
                         data=payload, headers={"Stripe-Signature": signature,
                                                "Content-Type": "application/json"})
