"""`tanqory history` as an analyst runs it, in both modes: products, customers and an order
made over HTTP come back from the event history in every format and through every
filter, personal values sealed unless an operator asks for them in clear.

Every request of a story carries one X-Request-ID, so `--correlation-id` isolates its
events from the other tests' on the shared platform; the tests look at the event types its
requests record themselves (what sagas and the notifier add later comes when it comes).
"""

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from runtime.auth import Role
from runtime.settings import Mode
from tanqory.history_formats import COLUMNS, flat, parquet_schema
from tests.e2e.test_inventory_http import stocked_product
from tests.e2e.test_products_http import new_product
from tests.support.ordering import ADDRESS, ORDERS
from tests.support.platform import Platform, embedded_platform
from tests.support.processes import run_cli
from tests.support.waiting import wait_until

AUTH = "/api/v1/auth"
EVENTS = "/api/v1/analytics/events"
# What a story's requests record, before they answer.
EXPECTED = {"ProductCreated": 2, "CustomerRegistered": 2, "CustomerErased": 1,
            "OrderPlaced": 1}
TYPES = tuple(arg for name in EXPECTED for arg in ("--type", name))
# A name that holds what str.splitlines (unlike JSON Lines) takes for line breaks.
UNBROKEN = "Cup\x85for\u2028two\u2029three"


@dataclass(frozen=True)
class Story:
    request_id: str
    products: list[str]
    customer_id: str
    email: str
    erased_id: str
    order_id: str
    events: list[dict[str, Any]]  # the story's events of EXPECTED's types, as jsonl

    @property
    def mine(self) -> tuple[str, ...]:
        return ("--correlation-id", self.request_id)


_STORIES: dict[Mode, Story] = {}


def run(platform: Platform, *args: str) -> Any:
    result = platform.cli("history", *args)
    assert result.returncode == 0, result.stderr
    return result


def jsonl(platform: Platform, *args: str) -> list[dict[str, Any]]:
    lines = run(platform, "--format", "jsonl", *args).stdout.split("\n")
    return [json.loads(line) for line in lines if line]


def register(platform: Platform, headers: dict[str, str]) -> tuple[str, str, str]:
    """A new customer: id, email and access token."""
    tag = uuid.uuid4().hex[:12]
    email, password = f"analysed-{tag}@example.com", f"correct horse {tag}"
    registered = httpx.post(f"{platform.command_url}{AUTH}/register", headers=headers,
                            json={"email": email, "password": password,
                                  "name": f"Ann {tag}"}, timeout=30)
    assert registered.status_code == 201, registered.text
    signed_in = httpx.post(f"{platform.command_url}{AUTH}/login", timeout=30,
                           json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return registered.json()["id"], email, signed_in.json()["access_token"]


def story(platform: Platform) -> Story:
    """Two products, a customer who orders one, another who is erased; once per mode."""
    if platform.mode in _STORIES:
        return _STORIES[platform.mode]
    request_id = f"history-{uuid.uuid4().hex}"
    tagged = {"X-Request-ID": request_id}
    products = []
    for name in (UNBROKEN, "Espresso cup"):
        created = httpx.post(f"{platform.command_url}/api/v1/products",
                             json=new_product(name=name),
                             headers={**platform.auth(Role.ADMIN), **tagged}, timeout=30)
        assert created.status_code == 201, created.text
        products.append(created.json()["id"])
    product, _ = stocked_product(platform, 5)
    customer_id, email, access = register(platform, tagged)
    placed = httpx.post(f"{platform.command_url}{ORDERS}", timeout=30, json={
        "lines": [{"product_id": product, "quantity": 1}], "shipping_address": ADDRESS},
        headers={"Authorization": f"Bearer {access}", **tagged})
    assert placed.status_code == 201, placed.text
    erased_id, _, _ = register(platform, tagged)
    erased = httpx.delete(f"{platform.command_url}/api/v1/customers/{erased_id}", timeout=30,
                          headers={**platform.auth(Role.ADMIN), **tagged})
    assert erased.status_code == 200, erased.text

    def recorded() -> list[dict[str, Any]]:
        events = jsonl(platform, "--correlation-id", request_id, *TYPES)
        types = [e["event_type"] for e in events]
        assert all(types.count(t) <= n for t, n in EXPECTED.items()), types
        return events if len(types) == sum(EXPECTED.values()) else []

    events = wait_until(recorded, 120, "the story in the event history", interval=0.5)
    _STORIES[platform.mode] = Story(request_id, products, customer_id, email, erased_id,
                                    placed.json()["id"], events)
    return _STORIES[platform.mode]


def sort_key(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event["occurred_at"], event["context"], event["aggregate_id"],
            event["aggregate_version"])


def test_jsonl_holds_the_envelopes_in_time_order(platform: Platform) -> None:
    told = story(platform)
    assert told.events == sorted(told.events, key=sort_key)
    order = next(e for e in told.events if e["event_type"] == "OrderPlaced")
    assert order["aggregate_id"] == told.order_id
    assert (order["context"], order["aggregate_type"], order["schema_version"]) == (
        "ordering", "Order", 2)
    assert order["correlation_id"] == told.request_id
    assert order["actor"] == {"subject": told.customer_id, "roles": ["customer"]}
    assert order["occurred_at"].endswith("Z") and isinstance(order["payload"]["lines"], list)
    assert UNBROKEN in {e["payload"]["name"] for e in told.events
                        if e["event_type"] == "ProductCreated"}
    assert set(order) == {"event_id", "event_type", "schema_version", "context",
                          "aggregate_type", "aggregate_id", "aggregate_version", "position",
                          "occurred_at", "correlation_id", "causation_id", "actor", "payload"}


def test_csv_and_parquet_hold_the_same_rows(platform: Platform, tmp_path: Path) -> None:
    told = story(platform)
    mine = (*told.mine, *TYPES)
    expected = [flat(e) for e in told.events]

    written = run(platform, *mine, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(written)))
    assert tuple(rows[0]) == COLUMNS
    assert [{**r, "actor_roles": json.loads(r["actor_roles"]),
             "payload": json.loads(r["payload"])} for r in rows] == [
        {k: str(v) if k not in ("actor_roles", "payload") else v for k, v in e.items()}
        for e in expected]

    path = tmp_path / "history.parquet"
    done = run(platform, *mine, "--format", "parquet", "--output", str(path))
    assert f"wrote {len(expected)} event(s)" in done.stderr
    table = pq.read_table(path)
    assert table.schema == parquet_schema()
    assert [{**r, "occurred_at": f"{r['occurred_at']:%Y-%m-%dT%H:%M:%SZ}",
             "payload": json.loads(r["payload"])} for r in table.to_pylist()] == expected
    assert table.to_pylist()[0]["occurred_at"].utcoffset() == timedelta(0)


def test_the_table_is_for_people(platform: Platform) -> None:
    told = story(platform)
    shown = run(platform, *told.mine, *TYPES, "--format", "table").stdout
    lines = shown.rstrip("\n").split("\n")
    assert lines[0].split()[:3] == ["occurred_at", "context", "event_type"]
    assert len(lines) == 1 + len(told.events)
    assert told.order_id in shown


def test_filters_select_exactly_the_events_they_name(platform: Platform) -> None:
    told = story(platform)

    def chosen(*args: str) -> list[dict[str, Any]]:
        return jsonl(platform, *told.mine, *(() if "--type" in args else TYPES), *args)

    def kept(keep: Any) -> list[dict[str, Any]]:
        return [e for e in told.events if keep(e)]

    assert chosen("--context", "catalog") == kept(lambda e: e["context"] == "catalog")
    assert chosen("--context", "catalog", "--context", "customers") == kept(
        lambda e: e["context"] in ("catalog", "customers"))
    assert chosen("--type", "CustomerRegistered", "--type", "OrderPlaced") == kept(
        lambda e: e["event_type"] in ("CustomerRegistered", "OrderPlaced"))
    assert chosen("--aggregate", told.order_id) == kept(
        lambda e: e["aggregate_id"] == told.order_id)
    assert chosen("--aggregate-type", "Customer", "--type", "CustomerErased") == kept(
        lambda e: e["event_type"] == "CustomerErased")
    assert chosen("--limit", "3") == told.events[:3]
    first, last = told.events[0]["occurred_at"], told.events[-1]["occurred_at"]
    assert chosen("--since", first) == told.events
    assert chosen("--until", first) == []
    after = (datetime.fromisoformat(last) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert chosen("--since", after) == []
    assert chosen("--until", after) == told.events
    assert jsonl(platform, "--aggregate", told.order_id, "--type", "OrderPlaced") == kept(
        lambda e: e["event_type"] == "OrderPlaced")


def test_personal_values_stay_sealed_unless_an_operator_unseals_them(
        platform: Platform) -> None:
    told = story(platform)
    mine = (*told.mine, "--type", "CustomerRegistered", "--type", "OrderPlaced")
    sealed = jsonl(platform, *mine)
    assert told.email not in json.dumps(sealed) and ADDRESS["line1"] not in json.dumps(sealed)
    registered = {e["aggregate_id"]: e["payload"] for e in sealed
                  if e["event_type"] == "CustomerRegistered"}
    assert registered[told.customer_id]["email"].startswith("pd1.")

    opened = jsonl(platform, *mine, "--unseal")
    clear = {e["aggregate_id"]: e["payload"] for e in opened
             if e["event_type"] == "CustomerRegistered"}
    assert clear[told.customer_id]["email"] == told.email
    assert clear[told.customer_id]["name"].startswith("Ann ")
    assert (clear[told.erased_id]["email"], clear[told.erased_id]["name"]) == (None, None)
    [order] = [e for e in opened if e["event_type"] == "OrderPlaced"]
    assert order["payload"]["shipping_address"] == {**ADDRESS, "line2": None}


def test_the_route_pages_for_analysts_only(platform: Platform) -> None:
    told = story(platform)
    url = f"{platform.read_url}{EVENTS}"
    mine = {"correlation_id": told.request_id, "type": list(EXPECTED)}
    assert httpx.get(url, params=mine, timeout=30).status_code == 401
    refused = httpx.get(url, params=mine, headers=platform.auth(Role.CUSTOMER), timeout=30)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    paged, after = [], None
    while True:
        page = httpx.get(url, params={**mine, "limit": 2, **({"after": after} if after else {})},
                         headers=platform.auth(Role.ANALYST), timeout=30)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("application/x-ndjson")
        paged += [json.loads(line) for line in page.text.split("\n") if line]
        after = page.headers.get("X-Next-Cursor")
        if after is None:
            break
    assert paged == told.events
    for bad in ({"after": "nope"}, {"since": "soon"}, {"limit": 0}, {"limit": 5001},
                {"aggregate_id": "x"}):
        answer = httpx.get(url, params=bad, headers=platform.auth(Role.ADMIN), timeout=30)
        assert answer.status_code in (400, 422), answer.text
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("args", [
    ("--since", "soon"), ("--until", "2026-02-30"), ("--context", "nope"),
    ("--type", "NoSuchEvent"), ("--format", "parquet"), ("--format", "xml"),
    ("--limit", "0"), ("--aggregate", "not-a-uuid"),
    ("--since", "2026-02-02", "--until", "2026-02-01"),
])
def test_bad_arguments_exit_2_and_say_why(platform: Platform, args: tuple[str, ...]) -> None:
    result = platform.cli("history", *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.strip()


def test_a_history_it_cannot_reach_exits_1(platform: Platform) -> None:
    elsewhere = ({"TANQORY_CLICKHOUSE_PORT": "1"} if platform.mode is Mode.SERVER
                 else {"TANQORY_PORT": "1"})  # serve holds the chDB: only it can answer
    result = run_cli("history", **{**platform.env, **elsewhere})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.strip()


def test_without_a_running_serve_the_history_is_read_from_its_directory(
        tmp_path: Path) -> None:
    """chDB lets one process at a time open its directory: while `tanqory serve` runs,
    history asks it; once it has stopped, history opens the directory itself."""
    with embedded_platform(tmp_path) as platform:
        request_id = f"history-{uuid.uuid4().hex}"
        created = httpx.post(f"{platform.command_url}/api/v1/products", json=new_product(),
                             headers={**platform.auth(Role.ADMIN), "X-Request-ID": request_id},
                             timeout=30)
        assert created.status_code == 201, created.text
        served = wait_until(lambda: jsonl(platform, "--correlation-id", request_id), 60,
                            "the product in the history")
        env = platform.env
    result = run_cli("history", "--correlation-id", request_id, **env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.split("\n") if line] == served
