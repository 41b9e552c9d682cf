"""`tanqory replay` and `tanqory rebuild` against a running platform, in both modes."""

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from runtime.auth import Role
from runtime.settings import Mode
from tests.e2e.test_products_http import read
from tests.support import read_store
from tests.support.mailbox import Mailbox, to
from tests.support.platform import Platform, store_events
from tests.support.waiting import wait_until

READ_MODELS = "read_models.sqlite3"


def create(platform: Platform, name: str) -> httpx.Response:
    """A product with no stock (so no saga changes what its reads show)."""
    created = httpx.post(f"{platform.command_url}/api/v1/products", timeout=30,
                         headers=platform.auth(Role.ADMIN),
                         json={"name": name, "sku": f"RR-{uuid.uuid4().hex[:10]}",
                               "price": "5.00"})
    assert created.status_code == 201, created.text
    return created


def visible(platform: Platform, created: httpx.Response) -> dict[str, Any]:
    got = read(platform, f"/api/v1/products/{created.json()['id']}",
               created.headers["X-Consistency-Token"])
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def live_build(platform: Platform) -> int:
    """The products' live build, from the pointer record."""
    if platform.mode is Mode.SERVER:
        return read_store.live_build(platform.settings, "products")
    with sqlite3.connect(platform.settings.data_dir / READ_MODELS, timeout=30) as conn:
        row = conn.execute("SELECT live FROM read_model_builds WHERE model = 'products'"
                           ).fetchone()
    return int(row[0]) if row else 1


def build_exists(platform: Platform, build: int) -> bool:
    """Whether the products' collection (server) or table (embedded) of `build` exists."""
    if platform.mode is Mode.SERVER:
        return read_store.build_exists(platform.settings, "products", build)
    data = platform.settings.data_dir
    path = data / READ_MODELS if build == 1 else data / f"read_models.products.{build}.sqlite3"
    if not path.exists():
        return False
    with sqlite3.connect(path, timeout=30) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    return "products" in tables


def stored_name(platform: Platform, product_id: str) -> str:
    """The product's name as its live store holds it (under any cache)."""
    build = live_build(platform)
    if platform.mode is Mode.SERVER:
        found = read_store.document(platform.settings, "products", product_id, build)
        assert found is not None
        return str(found["name"])
    with _products_table(platform, build) as conn:
        row = conn.execute("SELECT json_extract(doc, '$.name') FROM products WHERE id = ?",
                           (product_id,)).fetchone()
    return str(row[0])


def corrupt(platform: Platform, product_id: str) -> None:
    """Garbles the product's name in its live store, its version kept (as a bad write or a
    bad restore would leave it)."""
    build = live_build(platform)
    if platform.mode is Mode.SERVER:
        read_store.garble(platform.settings, "products", product_id, "name", "Garbage", build)
    else:
        with _products_table(platform, build) as conn:
            conn.execute("UPDATE products SET name = 'Garbage', "
                         "doc = json_set(doc, '$.name', 'Garbage') WHERE id = ?", (product_id,))
    assert stored_name(platform, product_id) == "Garbage"


def _products_table(platform: Platform, build: int) -> sqlite3.Connection:
    data = platform.settings.data_dir
    path = data / READ_MODELS if build == 1 else data / f"read_models.products.{build}.sqlite3"
    return sqlite3.connect(path, timeout=30)


def mail_count(mailbox: Mailbox) -> int:
    """How many emails the mailbox holds (the SMTP sink's or the embedded mail folder's)."""
    messages = mailbox.messages  # type: ignore[attr-defined]
    return len(messages() if callable(messages) else messages)


def verified(platform: Platform) -> None:
    def equal() -> bool:
        result = platform.cli("verify")
        assert result.returncode in (0, 1), result.stderr
        return result.returncode == 0

    wait_until(equal, 60, "the read models to equal a rebuild from the event store")


def test_replay_of_one_aggregate_repairs_its_document_and_fires_nothing(
    platform: Platform,
) -> None:
    """A customer's registration emailed them; replaying every read model's aggregates
    sends no email again and records no event (no saga ran)."""
    assert platform.mailbox is not None
    email = f"replay-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(f"{platform.command_url}/api/v1/auth/register", timeout=30,
                            json={"email": email, "password": "correct horse battery",
                                  "name": "Replay"})
    assert registered.status_code == 201, registered.text
    platform.mailbox.wait_for(to(email), 60)
    created = create(platform, "Replayed lamp")
    product_id = created.json()["id"]
    before = visible(platform, created)
    corrupt(platform, product_id)
    events, mail = len(store_events(platform)), mail_count(platform.mailbox)

    result = platform.cli("replay", "products", "--aggregate", product_id)
    assert result.returncode == 0, result.stderr
    assert "replaced 1 document(s)" in result.stdout
    assert stored_name(platform, product_id) == "Replayed lamp"
    assert read(platform, f"/api/v1/products/{product_id}").json() == before
    for model in ("customers", "notifications", "orders"):
        whole = platform.cli("replay", model)
        assert whole.returncode == 0, whole.stderr

    assert len(store_events(platform)) == events
    verified(platform)
    assert mail_count(platform.mailbox) == mail


def test_replay_since_repairs_only_the_aggregates_with_events_in_the_window(
    platform: Platform,
) -> None:
    earlier = create(platform, "Earlier vase")
    visible(platform, earlier)
    since = datetime.now(UTC)
    later = create(platform, "Later vase")
    visible(platform, later)
    for created in (earlier, later):
        corrupt(platform, created.json()["id"])

    result = platform.cli("replay", "products", "--since", since.isoformat())
    assert result.returncode == 0, result.stderr
    assert stored_name(platform, later.json()["id"]) == "Later vase"
    assert stored_name(platform, earlier.json()["id"]) == "Garbage"  # outside the window

    whole = platform.cli("replay", "products")
    assert whole.returncode == 0, whole.stderr
    assert stored_name(platform, earlier.json()["id"]) == "Earlier vase"
    verified(platform)


def test_replay_refuses_what_it_cannot_do(platform: Platform) -> None:
    unknown = platform.cli("replay", "nothing")
    assert unknown.returncode == 1 and "products" in unknown.stderr
    moment = platform.cli("replay", "products", "--since", "yesterday")
    assert moment.returncode == 2 and "ISO 8601" in moment.stderr
    if platform.mode is Mode.EMBEDDED:
        kafka = platform.cli("replay", "products", "--from-kafka")
        assert kafka.returncode == 1 and "server mode" in kafka.stderr


@pytest.mark.server
def test_replay_from_kafka_repairs_a_document(server: Platform) -> None:
    platform = server
    created = create(platform, "Streamed jug")
    visible(platform, created)
    corrupt(platform, created.json()["id"])
    result = platform.cli("replay", "products", "--aggregate", created.json()["id"],
                          "--from-kafka")
    assert result.returncode == 0, result.stderr
    assert stored_name(platform, created.json()["id"]) == "Streamed jug"


def test_rebuild_cuts_readers_over_with_no_gap_and_drops_the_old_build(
    platform: Platform,
) -> None:
    tag = uuid.uuid4().hex[:10]
    created = [create(platform, f"Bluegreen {tag} {n}") for n in range(5)]
    views = {c.json()["id"]: visible(platform, c) for c in created}
    query = {"search": tag, "sort": "name", "order": "asc", "limit": 100}
    listing = read(platform, "/api/v1/products", **query).json()
    assert [p["id"] for p in listing["data"]] == list(views)
    first = live_build(platform)
    stop, failures, reads, written = threading.Event(), [], [0], []

    def reader() -> None:
        while not stop.is_set():
            page = read(platform, "/api/v1/products", **query)
            if page.status_code != 200 or page.json() != listing:
                failures.append(f"listing: {page.status_code} {page.text[:200]}")
            for product_id, view in views.items():
                one = read(platform, f"/api/v1/products/{product_id}")
                if one.status_code != 200 or one.json() != view:
                    failures.append(f"{product_id}: {one.status_code} {one.text[:200]}")
            reads[0] += 1

    def writer() -> None:
        while not stop.is_set():
            written.append(create(platform, "Written meanwhile"))

    threads = [threading.Thread(target=reader), threading.Thread(target=reader),
               threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        result = platform.cli("rebuild", "products")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert result.returncode == 0, result.stderr
    assert failures == [] and reads[0] > 0
    assert live_build(platform) == first + 1
    assert written and all(visible(platform, w) for w in written)
    assert build_exists(platform, first) and build_exists(platform, first + 1)
    verified(platform)

    dropped = platform.cli("rebuild", "products", "--drop-old")
    assert dropped.returncode == 0, dropped.stderr
    assert f"dropped build(s) {first}" in dropped.stdout
    assert not build_exists(platform, first) and build_exists(platform, first + 1)
    assert read(platform, "/api/v1/products", **query).json() == listing
    verified(platform)
