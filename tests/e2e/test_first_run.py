"""The first ten minutes: what a newcomer meets after `bash scripts/run.sh`.

The docs page works offline (its assets served by the API itself), `/` says where to look,
and `tanqory serve` seeds a demo catalog and prints a token command and a curl line that
work as printed.
"""

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from runtime.auth import Role
from tests.support.platform import TEST_SECRET, Platform
from tests.support.processes import PlatformProcess, free_port
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
ALWAYS_LINKED = ("/api/docs", "/health", "/ready")
LISTINGS = ("/api/v1/products", "/api/v1/categories")


def api_urls(platform: Platform) -> list[str]:
    return sorted({platform.command_url, platform.read_url})


def references(html: str) -> list[str]:
    """Every URL a page's src= and href= attributes name."""
    return re.findall(r'(?:src|href)="([^"]+)"', html)


# --- /api/docs ----------------------------------------------------------------------------


def test_the_docs_page_loads_everything_from_the_api_itself(platform: Platform) -> None:
    for base in api_urls(platform):
        with httpx.Client(base_url=base, timeout=15) as http:
            docs = http.get("/api/docs")
            assert docs.status_code == 200 and docs.headers["content-type"].startswith(
                "text/html")
            urls = references(docs.text)
            assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls)
            for url in urls:
                assert not urlsplit(url).netloc and url.startswith("/"), url
            assert "cdn." not in docs.text and "https://" not in docs.text
            policy = docs.headers["content-security-policy"]
            assert "https:" not in policy and "cdn." not in policy, policy
            for url in urls:
                asset = http.get(url)
                assert asset.status_code == 200, url
                wanted = ASSET_TYPES[Path(url).suffix]
                assert asset.headers["content-type"].startswith(wanted), (url, asset.headers)
                assert asset.headers["x-content-type-options"] == "nosniff"
                # Like the docs page, its assets are not counted against a client's budget.
                assert "ratelimit-limit" not in asset.headers
            schema_url = re.search(r"url: '([^']+)'", docs.text)
            assert schema_url is not None
            schema = http.get(schema_url.group(1))
            assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")


def test_the_swagger_ui_script_is_the_real_bundle(embedded: Platform) -> None:
    docs = httpx.get(f"{embedded.read_url}/api/docs", timeout=15)
    script = next(u for u in references(docs.text) if u.endswith(".js"))
    body = httpx.get(f"{embedded.read_url}{script}", timeout=15).text
    assert len(body) > 500_000 and "SwaggerUIBundle" in body


# --- the landing page ---------------------------------------------------------------------


def test_the_landing_page_links_docs_health_ready_and_the_listings(platform: Platform) -> None:
    for base in api_urls(platform):
        landing = httpx.get(f"{base}/", timeout=15)
        assert landing.status_code == 200
        assert landing.headers["content-type"].startswith("text/html")
        assert landing.headers["x-content-type-options"] == "nosniff"
        assert landing.headers["content-security-policy"].startswith("default-src 'self'")
        assert landing.headers["x-request-id"] and "ratelimit-limit" not in landing.headers
        links = references(landing.text)
        assert set(ALWAYS_LINKED) <= set(links), links
        if base == platform.read_url:
            assert set(LISTINGS) <= set(links), links
        for link in links:
            assert httpx.get(f"{base}{link}", timeout=15).status_code == 200, link


# --- `tanqory serve` with its demo data -----------------------------------------------------


class Served:
    """One `tanqory serve` with demo data, and what it printed."""

    def __init__(self, tmp: Path, port: int, name: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            "TANQORY_ENV": "test",
            "TANQORY_JWT_SECRET": TEST_SECRET,
            "TANQORY_DATA_DIR": str(tmp / "data"),
            "TANQORY_RATE_LIMIT_PER_MINUTE": "100000",
        }
        self.process = PlatformProcess(name, ["serve", "--port", str(port)], self.env, tmp)

    def start(self) -> "Served":
        self.process.start()
        self.banner = wait_until(self._banner, 60, "the start banner")
        return self

    def _banner(self) -> list[str] | None:
        if not self.process.alive:
            raise AssertionError(f"serve exited:\n{self.process.log_tail()}")
        lines = self.process.log_path.read_text(errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("Tanqory Commerce")]
        if not starts or not any(line.lstrip().startswith("curl ") for line in lines):
            return None
        return lines[starts[-1]:]

    def after(self, heading: str) -> str:
        """The line under the banner's line that starts with `heading`."""
        index = next(i for i, line in enumerate(self.banner) if line.startswith(heading))
        return self.banner[index + 1].strip()

    def url_of(self, label: str) -> str:
        line = next(line for line in self.banner if line.strip().startswith(label))
        return line.split()[-1]

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base}{path}", params=params, timeout=15)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("first-run")
    server = Served(tmp, free_port(), "serve").start()
    try:
        yield server
    finally:
        server.process.stop()


def test_the_banner_prints_a_token_command_that_runs_from_the_repository_root(
        served: Served) -> None:
    command = shlex.split(served.after("A token to write with"))
    assert command[1:] == ["token", "--role", "product_manager"], command
    # A checkout with .venv prints .venv/bin/tanqory, which is not on PATH.
    result = subprocess.run(command, cwd=REPO, env={**served.process.env, **served.env},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    created = httpx.post(
        f"{served.base}/api/v1/categories", json={"name": "From the banner's token"},
        headers={"Authorization": f"Bearer {result.stdout.strip()}"}, timeout=15)
    assert created.status_code == 201, created.text


def test_the_banner_prints_a_curl_line_that_reads_a_demo_product(served: Served) -> None:
    curl = shlex.split(served.after("Try one"))
    assert curl[:2] == ["curl", "-s"] and curl[3] == "-H", curl
    url, header = curl[2], curl[4]
    name, _, value = header.partition(": ")
    assert name == "Authorization" and value.startswith("Bearer ")
    response = httpx.get(url, headers={name: value}, timeout=15)
    assert response.status_code == 200, response.text
    product = response.json()
    assert url == served.url_of("A product")
    assert url.endswith(f"/api/v1/products/{product['id']}")
    assert product["sku"].startswith("DEMO-") and product["category"] is not None
    # The printed token is a fresh product manager's: it writes, too.
    price = httpx.put(f"{url}/price", json={"price": product["price"]},
                      headers={name: value}, timeout=15)
    assert price.status_code == 200, price.text
    assert served.url_of("Start here") == f"{served.base}/"


def test_the_demo_has_a_category_tree_with_products_on_sale_and_rated(served: Served) -> None:
    tree = served.get("/api/v1/categories")
    roots = {root["slug"]: root for root in tree}
    assert {"coffee-gear", "coffee"} <= set(roots)
    assert {c["slug"] for c in roots["coffee-gear"]["children"]} >= {"brewing", "grinding"}
    assert {c["slug"] for c in roots["coffee"]["children"]} >= {"beans"}
    for slug in ("brewing", "grinding", "beans"):
        listed = served.get("/api/v1/products", category=slug)["data"]
        assert listed and all(p["category"]["slug"] == slug for p in listed), slug
    products = served.get("/api/v1/products", limit=100)["data"]
    assert any(p["sale_price"] is not None for p in products)
    rated = [p for p in products if p["review_count"] > 0]
    assert rated and all(1 <= p["average_rating"] <= 5 for p in rated)
    assert any(p["review_count"] >= 2 for p in rated)


def test_a_second_serve_on_the_same_data_seeds_nothing_twice(tmp_path: Path) -> None:
    first = Served(tmp_path, free_port(), "serve-first").start()
    try:
        products = first.get("/api/v1/products", limit=100)["data"]
        categories = first.get("/api/v1/categories")
        product_url = first.url_of("A product")
    finally:
        first.process.stop()
    again = Served(tmp_path, free_port(), "serve-again").start()
    try:
        assert again.get("/api/v1/categories") == categories
        assert sorted(p["id"] for p in again.get("/api/v1/products", limit=100)["data"]) == (
            sorted(p["id"] for p in products))
        assert again.url_of("A product").rsplit("/", 1)[1] == product_url.rsplit("/", 1)[1]
        # A demo product's ratings were recorded once, by the first run.
        for before in products:
            after = again.get(f"/api/v1/products/{before['id']}")
            assert after["review_count"] == before["review_count"], before["sku"]
    finally:
        again.process.stop()


def test_a_product_manager_token_is_what_the_banner_prints(served: Served) -> None:
    token = shlex.split(served.after("Try one"))[4].removeprefix("Authorization: Bearer ")
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="tanqory-api",
                        issuer="tanqory")
    assert claims["roles"] == [Role.PRODUCT_MANAGER.value]


def test_the_banner_prints_how_to_sign_in_as_the_demo_customer(served: Served) -> None:
    login = shlex.split(served.after("Sign in as the demo customer"))
    assert login[:4] == ["curl", "-s", "-X", "POST"], login
    signed_in = httpx.post(login[4], content=login[login.index("-d") + 1], timeout=15,
                           headers={"Content-Type": "application/json"})
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="tanqory-api",
                        issuer="tanqory")
    order = shlex.split(served.after("The demo customer's order"))
    mine = httpx.get(order[2], headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert mine.status_code == 200 and mine.json()["customer_id"] == claims["sub"], mine.text


def test_the_banner_prints_the_demo_customers_order_and_how_to_pay_it(served: Served) -> None:
    read = shlex.split(served.after("The demo customer's order"))
    url, header = read[2], read[4]
    name, _, value = header.partition(": ")
    order = httpx.get(url, headers={name: value}, timeout=15).json()
    claims = jwt.decode(value.removeprefix("Bearer "), options={"verify_signature": False})
    assert order["customer_id"] == claims["sub"]
    assert {line["sku"] for line in order["lines"]} == {"DEMO-BEANS-250", "DEMO-KETTLE-1L"}

    def awaiting() -> dict[str, Any] | None:
        found = httpx.get(url, headers={name: value}, timeout=15).json()
        due = found["status"] == "awaiting_payment" and found["payment"] is not None
        return found if due else None  # type: ignore[no-any-return]

    assert wait_until(awaiting, 30, "the demo order to await payment")["payment"]["client_secret"]
    pay = shlex.split(served.after("Pay it"))
    assert pay[:4] == ["curl", "-s", "-X", "POST"] and pay[4] == f"{url}/pay", pay
    body = json.loads(pay[pay.index("-d") + 1])
    paid = httpx.post(pay[4], json=body, headers={name: value}, timeout=15)
    assert paid.status_code == 202, paid.text
    wait_until(lambda: httpx.get(url, headers={name: value}, timeout=15).json()["status"]
               == "paid", 30, "the demo order to be paid")
