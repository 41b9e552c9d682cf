"""What the pipeline benchmarks share: fresh namespaces on the real services, realistic
envelopes made by the real command path, topics filled with them, and worker rounds.

A worker's consumer group takes seconds to join, so a worker round runs
`python -m bench.worker_process`, which notes how many events its handler has written and
the seconds since its first batch arrived; a round's figure is that span alone.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from clickhouse_driver import Client
from redis import Redis

from bench.marks import read_marks
from commands.catalog.application import CatalogApplication
from projections.analytics import TABLE
from runtime.progress import KEY as PROGRESS_KEY
from runtime.settings import ReadStore, Settings
from schemas.catalog import CreateProduct
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from streams.kafka_sink import KafkaSink, build_producer
from streams.topics import Topics, ensure_topics
from tests.support import read_store
from tests.support.platform import (
    TEST_SECRET,
    create_postgres_database,
    drop_namespace,
    server_namespace,
)
from tests.support.processes import DIE_WITH_PARENT
from tests.support.waiting import wait_until

Document = dict[str, Any]
ROOT = Path(__file__).resolve().parents[1]
META = EventMetadata(correlation_id="bench", causation_id="bench",
                     actor=Actor(subject="bench", roles=("product_manager",)))
DESCRIPTION = ("Hand-thrown stoneware with a matte glaze, dishwasher safe. Each piece varies "
               "a little in colour and shape; sizes are approximate. ") * 2


@dataclass(frozen=True)
class Namespace:
    """The TANQORY_* variables naming one benchmark's databases, topics and consumer group."""

    env: dict[str, str]

    @classmethod
    def fresh(cls) -> "Namespace":
        return cls({**server_namespace(), "TANQORY_MODE": "server", "TANQORY_ENV": "test",
                    "TANQORY_JWT_SECRET": TEST_SECRET})

    @property
    def name(self) -> str:
        return self.env["TANQORY_KAFKA_TOPIC_PREFIX"]

    @property
    def settings(self) -> Settings:
        fields: dict[str, Any] = {k.removeprefix("TANQORY_").lower(): v
                                  for k, v in self.env.items()}
        return Settings(**fields)

    def round(self, index: int) -> "Namespace":
        """Fresh read models, archive and consumer group over this namespace's topics."""
        name = f"{self.name}r{index}"
        return Namespace({**self.env, "TANQORY_MONGO_DB": name, "TANQORY_CLICKHOUSE_DB": name,
                          "TANQORY_WORKER_ID": f"{name}-projector"})


@contextmanager
def namespace(postgres: bool = False) -> Iterator[Namespace]:
    """A fresh namespace, dropped afterwards with every topic and progress key under it."""
    space = Namespace.fresh()
    settings = space.settings
    if postgres or settings.read_store is ReadStore.POSTGRES:  # the read models' database
        create_postgres_database(settings)
    try:
        yield space
    finally:
        drop_namespace(settings)
        asyncio.run(delete_topics(settings.kafka_bootstrap, space.name))
        with Redis.from_url(settings.redis_url) as redis:
            redis.delete(f"{PROGRESS_KEY}:{space.name}")


def drop_stores(settings: Settings) -> None:
    """Drops a round's read models and archive."""
    read_store.drop(settings)
    client = clickhouse(settings)
    try:
        client.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_db}")
    finally:
        client.disconnect()


def clickhouse(settings: Settings) -> Client:
    return Client(host=settings.clickhouse_host, port=settings.clickhouse_port,
                  user=settings.clickhouse_user,
                  password=settings.clickhouse_password.get_secret_value())


async def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


# --- events ---------------------------------------------------------------------------


def product_command(index: int) -> CreateProduct:
    """A product as a shop describes it: a paragraph, two images, a few attributes."""
    return CreateProduct(
        name=f"Stoneware mug {index}", description=DESCRIPTION, sku=f"MUG-{index:07d}",
        price=Decimal("24.90"), sale_price=Decimal("19.90"),
        images=[f"https://img.example.com/mugs/{index}/front.jpg",
                f"https://img.example.com/mugs/{index}/side.jpg"],
        attributes={"colour": "sand", "capacity": "350 ml", "material": "stoneware"},
        stock_quantity=index % 500,
    )


def create_products(catalog: CatalogApplication, n: int) -> None:
    for index in range(n):
        catalog.create_product(product_command(index), META)


def published(catalog: CatalogApplication, batch_size: int) -> list[list[EventEnvelope]]:
    """The store's public events, in the batches a relay reading `batch_size`
    notifications at a time hands its sink."""
    batches: list[list[EventEnvelope]] = []
    after = 0
    while notifications := catalog.notifications(after, batch_size):
        batches.append([e for n in notifications if (e := catalog.envelope(n)) is not None])
        after = notifications[-1].id
    return batches


def product_envelopes(n: int) -> list[EventEnvelope]:
    """`n` ProductCreated envelopes made by the command path over a scratch SQLite store."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                          "SQLITE_DBNAME": str(Path(tmp) / "events.sqlite3")})
        try:
            create_products(catalog, n)
            return [e for batch in published(catalog, 10_000) for e in batch]
        finally:
            catalog.close()


def batches_of(items: Sequence[EventEnvelope], size: int) -> list[Sequence[EventEnvelope]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# --- topics ---------------------------------------------------------------------------


async def ready_topics(settings: Settings, topics: Topics) -> None:
    """Creates `topics` and returns once each partition is led (a topic just created
    answers NotLeaderForPartition for a moment: no run should time that)."""
    await ensure_topics(settings.kafka_bootstrap, topics, ["catalog"], settings.kafka_partitions)
    await count_records(settings.kafka_bootstrap, topics.events("catalog"),
                        settings.kafka_partitions)


@contextmanager
def filled_topic(n: int) -> Iterator[tuple[Namespace, list[EventEnvelope]]]:
    """A fresh namespace whose events topic holds `n` ProductCreated envelopes (and them)."""
    envelopes = product_envelopes(n)
    with namespace() as space:
        asyncio.run(fill_topic(space.settings, envelopes))
        yield space, envelopes


async def fill_topic(settings: Settings, envelopes: Sequence[EventEnvelope]) -> None:
    """Creates the namespace's topics and publishes `envelopes` as the relay does."""
    topics = Topics(settings.kafka_topic_prefix)
    await ready_topics(settings, topics)
    producer = build_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        await KafkaSink(producer, topics).publish(envelopes)
    finally:
        await producer.stop()


async def count_records(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(offsets.values())
    finally:
        await consumer.stop()


def check(what: str, found: int, wanted: int) -> None:
    """A timed run counts only if it did all the work."""
    if found != wanted:
        raise RuntimeError(f"{what}: {found}, not {wanted}")


def check_read_models(settings: Settings, n: int) -> None:
    """Each of `n` ProductCreated events made its product document."""
    check("products written", read_store.count(settings, "products"), n)


def check_archive(settings: Settings, n: int) -> None:
    client = clickhouse(settings)
    try:
        [(found,)] = client.execute(f"SELECT count() FROM {settings.clickhouse_db}.{TABLE}")
        check("events archived", found, n)
    finally:
        client.disconnect()


# --- worker rounds --------------------------------------------------------------------


def time_worker(space: Namespace, handler: str, n: int) -> float:
    """Runs a worker with `handler` (see bench.worker_process) over the namespace's topic
    until it has handled `n` events; returns the seconds from its first batch to its last."""
    with tempfile.TemporaryDirectory() as tmp:
        marks, log = Path(tmp) / "marks", Path(tmp) / "worker.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*DIE_WITH_PARENT, sys.executable, "-m", "bench.worker_process", handler,
                 str(marks)],
                env={**os.environ, **space.env},
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        try:
            wait_until(lambda: process.poll() is not None or read_marks(marks)[0] >= n,
                       timeout=120 + n / 50, what=f"a {handler} worker to handle {n} events")
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                raise RuntimeError(f"the {handler} worker exited:\n{tail}")
            return read_marks(marks)[1]
        finally:
            _stop(process)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
