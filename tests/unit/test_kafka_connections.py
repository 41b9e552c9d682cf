"""A request on a connection whose transport uvloop has closed (aiokafka issue #1038)."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop
from aiokafka.conn import AIOKafkaConnection
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest

from streams import kafka_connections

METADATA = 3


async def on_a_closed_transport(request: Callable[[AIOKafkaConnection], object]) -> None:
    """Runs `request` on a connection to a loopback server whose transport has closed
    before aiokafka's reader noticed (its read task stands still), as when a broker goes
    away between two requests."""
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = AIOKafkaConnection("127.0.0.1", port)
    connection._versions = {METADATA: (0, 5)}
    connection._reader, connection._writer = await asyncio.open_connection("127.0.0.1", port)
    connection._read_task = reading = asyncio.get_running_loop().create_future()
    connection._writer.close()
    async with asyncio.timeout(5):
        await connection._writer.wait_closed()
    try:
        request(connection)
    finally:
        reading.cancel()
        server.close()


def run_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(scenario())  # type: ignore[arg-type]


def test_aiokafka_alone_fails_with_a_runtime_error_there() -> None:
    """What the workaround is for; once aiokafka handles it, this fails and the
    workaround can go."""
    original = AIOKafkaConnection.send
    AIOKafkaConnection.send = kafka_connections._send  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="handler is closed"):
            run_on_uvloop(lambda: on_a_closed_transport(
                lambda connection: connection.send(MetadataRequest([]))))
    finally:
        AIOKafkaConnection.send = original  # type: ignore[method-assign]


def test_the_request_fails_as_on_a_broken_connection_and_the_connection_closes() -> None:
    kafka_connections.treat_closed_transports_as_broken()
    closed: list[AIOKafkaConnection] = []

    def request(connection: AIOKafkaConnection) -> None:
        with pytest.raises(KafkaConnectionError, match="broken"):
            connection.send(MetadataRequest([]))
        closed.append(connection)

    run_on_uvloop(lambda: on_a_closed_transport(request))
    assert not closed[0].connected()
