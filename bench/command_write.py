"""Command write over HTTP: `POST /api/v1/products` to a real server, against a bare
eventsourcing `Application.save` of the same aggregate, in SQLite and in PostgreSQL.

Ours: one keep-alive connection sends the creates one after another (no concurrency) to a
server on loopback, and each must be answered 201. The server authenticates the token,
counts the request against the rate limit, validates the command, reserves the SKU and
records the product and the reservation atomically. PostgreSQL: `tanqory command-api`.
SQLite: `tanqory serve --no-demo`, the only HTTP path to a SQLite event store, which also
projects every write in-process (SQLite read models, chDB history) on the same cores.
Baseline: the same payload validated and the same Product aggregate saved alone by an
eventsourcing Application in this process, in a fresh store of the same kind, with the
library's own recorder.

The client is the standard library's `http.client`, about 0.2 ms of CPU a request here
against httpx's 0.5-0.6 ms: the client runs in sequence with the server on the same
cores, and the baseline has no client, so httpx's own cost was a quarter of what this
figure measured (docs/benchmarks.md).
"""

import http.client
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from bench.http_servers import editor_headers, embedded_server, server_platform
from bench.timing import Figure, Scale, compare
from commands.catalog.application import CatalogApplication
from commands.catalog.product import Product
from runtime.settings import Settings
from schemas.catalog import CreateProduct
from schemas.envelope import Actor, EventMetadata
from tests.support.platform import Platform, create_postgres_database

META = EventMetadata(correlation_id="bench", causation_id="bench",
                     actor=Actor(subject="bench", roles=("product_manager",)))


def product_payload() -> dict[str, Any]:
    """The create command both sides record, with a SKU of its own."""
    return {"name": "Bench product", "description": "Created by the benchmark",
            "sku": f"B-{uuid.uuid4().hex[:16]}", "price": "10.00", "stock_quantity": 1}


def http_creates(platform: Platform) -> Callable[[int], None]:
    """Each call opens a keep-alive connection of its own (the server closes idle ones)."""
    server = urlsplit(platform.command_url)
    headers = {**editor_headers(platform), "Content-Type": "application/json"}

    def ours(count: int) -> None:
        connection = http.client.HTTPConnection(server.hostname or "", server.port, timeout=30)
        try:
            for _ in range(count):
                connection.request("POST", "/api/v1/products",
                                   body=json.dumps(product_payload()), headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status != 201:
                    raise RuntimeError(f"create answered {response.status}: {body!r}")
        finally:
            connection.close()

    return ours


def bare_saves(app: CatalogApplication) -> Callable[[int], None]:
    def baseline(count: int) -> None:
        for _ in range(count):
            fields = CreateProduct.model_validate(product_payload()).model_dump()
            app.save(Product(**fields, meta=META.model_dump(mode="json")))

    return baseline


def _figure(name: str, platform: Platform, app: CatalogApplication, scale: Scale) -> Figure:
    ours, baseline = http_creates(platform), bare_saves(app)
    for side in (ours, baseline):  # warm-up: pools, first-use imports
        side(min(scale.n, 50))
    return compare(name, ours, baseline, scale.n, scale.rounds)


def sqlite_figure(scale: Scale) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, embedded_server() as platform:
        app = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                      "SQLITE_DBNAME": str(Path(tmp) / "baseline.sqlite3")})
        try:
            return _figure("command write (sqlite)", platform, app, scale)
        finally:
            app.close()


@contextmanager
def baseline_postgres(settings: Settings) -> Iterator[CatalogApplication]:
    """An Application on a fresh PostgreSQL database of its own, dropped after, with the
    library's own recorder and mapper (ours saves in one statement, ADR 0026, and keeps
    each public event's Kafka record, ADR 0033)."""
    own = Settings(**{**settings.model_dump(), "postgres_db": f"{settings.postgres_db}_baseline"})
    create_postgres_database(own)
    app = CatalogApplication(env={**own.event_store_env,
                                  "PERSISTENCE_MODULE": "eventsourcing.postgres",
                                  "MAPPER_TOPIC": ""})
    try:
        yield app
    finally:
        app.close()
        admin_dsn = own.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{own.postgres_db}" WITH (FORCE)')


def postgres_figure(scale: Scale) -> Figure:
    with server_platform(["command-api"]) as platform, \
            baseline_postgres(platform.settings) as app:
        return _figure("command write (postgres)", platform, app, scale)


def run(scale: Scale) -> list[Figure]:
    return [sqlite_figure(scale), postgres_figure(scale)]
