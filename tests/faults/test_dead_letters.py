"""Poison events go to the dead-letter topic with the reason, the workers go on, and
`tanqory dlq list|retry` shows and re-drives them."""

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest

from runtime.auth import Role
from schemas.envelope import EventEnvelope
from streams.kafka_sink import KafkaSink, start_producer
from streams.topics import Topics
from tests.support import read_store
from tests.support.platform import Platform, server_platform, store_events, wait_for_pipeline
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
UNDECODABLE = b'{"not": "an event"'


def test_dead_letters_are_listed_and_re_driven(tmp_path: Path) -> None:
    with server_platform(tmp_path) as platform:
        platform.processes["relay"].stop()  # we deliver this product's events by hand
        product_id = created_and_repriced(platform)
        first, second = [e for e in store_events(platform) if str(e.aggregate_id) == product_id]

        # Version 2 before version 1 cannot be applied: a gap. Nor can a value that is
        # not an event at all, or an event dated before ClickHouse's times begin.
        asyncio.run(publish(platform, [second], raw=UNDECODABLE, dated_1969=first))
        listed = wait_for_letters(platform, "3 dead letter(s), 3 not yet retried")
        assert f"ProductPriceChanged v2 of Product {product_id}" in listed
        assert f"gap: {product_id} is at version 0, event is version 2" in listed
        assert "undecodable value" in listed and "error: undecodable:" in listed
        assert "greater than or equal to 1970-01-01T00:00:00Z" in listed
        assert listed.count(f"from {Topics(platform.settings.kafka_topic_prefix).events('catalog')}:") == 3

        asyncio.run(publish(platform, [first]))  # the worker went on
        wait_for_version(platform, product_id, 1)

        retried = platform.cli("dlq", "retry")
        assert retried.returncode == 0, retried.stderr
        assert "re-drove 3 dead letter(s)" in retried.stdout
        wait_for_version(platform, product_id, 2)
        # The value that is no event and the event from 1969 fail again: new letters; the
        # other is done.
        listed = wait_for_letters(platform, "5 dead letter(s), 2 not yet retried")
        assert listed.count("  retried  ") == 3
        stopped = [name for name, process in platform.processes.items() if not process.alive]
        assert stopped == ["relay"]  # the workers' groups took them all and went on

        platform.processes["relay"].start()
        wait_for_pipeline(platform)
        verified = platform.cli("verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def created_and_repriced(platform: Platform) -> str:
    headers = platform.auth(Role.PRODUCT_MANAGER)
    with httpx.Client(base_url=platform.command_url, headers=headers, timeout=30) as http:
        created = http.post("/api/v1/products", json={
            "name": "Poison", "sku": f"POISON-{uuid.uuid4().hex[:8]}", "price": "2.00"})
        assert created.status_code == 201, created.text
        product_id: str = created.json()["id"]
        repriced = http.put(f"/api/v1/products/{product_id}/price", json={"price": "3.00"},
                            headers={"If-Match": '"1"'})
        assert repriced.status_code == 200, repriced.text
    return product_id


async def publish(platform: Platform, events: list[EventEnvelope], raw: bytes | None = None,
                  dated_1969: EventEnvelope | None = None) -> None:
    """Sends `events` as the relay would (and `raw` as a value of its own, and
    `dated_1969` as it would be if it had happened in 1969)."""
    topics = Topics(platform.settings.kafka_topic_prefix)
    producer = await start_producer(platform.settings.kafka_bootstrap)
    try:
        await KafkaSink(producer, topics).publish(events)
        if raw is not None:
            await producer.send_and_wait(topics.events("catalog"), raw, key=b"poison")
        if dated_1969 is not None:
            value = dated_1969.model_dump(mode="json") | {"occurred_at": "1969-07-20T20:17:40Z"}
            await producer.send_and_wait(topics.events("catalog"), json.dumps(value).encode(),
                                         key=str(dated_1969.aggregate_id).encode())
    finally:
        await producer.stop()


def wait_for_letters(platform: Platform, summary: str) -> str:
    def listed() -> str:
        result = platform.cli("dlq", "list")
        assert result.returncode == 0, result.stderr
        return result.stdout if summary in result.stdout else ""

    return wait_until(listed, 60, summary)


def wait_for_version(platform: Platform, product_id: str, version: int) -> None:
    def reached() -> bool:
        found = read_store.document(platform.settings, "products", product_id)
        return found is not None and found["version"] == version

    wait_until(reached, 60, f"product {product_id} at version {version} in the read model")
