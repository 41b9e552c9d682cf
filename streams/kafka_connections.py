"""aiokafka's broker connections on uvloop (aiokafka issue #1038, open in 0.14).

When a broker drops a connection, writing to it raises `OSError` on the standard library's
transports, or nothing once the transport is closed; aiokafka turns the `OSError` into a
`KafkaConnectionError`, and the client reconnects and retries. uvloop's closed transports
raise `RuntimeError` instead, which aiokafka does not catch: the consumer's fetching or
group coordination, or the producer's sending, stops for good. A restart of Kafka killed
the sagas' process that way in a fault test. The background processes run on uvloop
(`runtime.event_loop`), so the Kafka clients they build (the workers' consumers, the
producers) first make aiokafka treat that error as the broken connection it is.
"""

from typing import Any

from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.errors import KafkaConnectionError

_send = AIOKafkaConnection.send


def treat_closed_transports_as_broken() -> None:
    """Makes a request written to a closed transport fail as aiokafka fails one written to
    a broken socket: the connection closes, and the request raises `KafkaConnectionError`.
    Idempotent."""
    AIOKafkaConnection.send = _send_or_break  # type: ignore[method-assign]


def _send_or_break(connection: AIOKafkaConnection, *args: Any, **kwargs: Any) -> Any:
    writer = connection._writer
    try:
        return _send(connection, *args, **kwargs)
    except RuntimeError as error:
        if writer is None or not writer.transport.is_closing():
            raise
        connection.close(reason=CloseReason.CONNECTION_BROKEN, exc=error)
        raise KafkaConnectionError(
            f"Connection at {connection.host}:{connection.port} broken: {error}"
        ) from error
