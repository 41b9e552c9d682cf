"""The event loop of the long-running background processes (relay, worker, sagas, notifier).

They run on uvloop, as the APIs do (uvicorn picks it when it is installed): their work is
mostly the event loop's own (aiokafka's fetches and sends, psycopg's and redis-py's
sockets, tasks handing batches along). Alternated under the sustained load, creates
were visible at p99 0.9–1.5 s with it against 2.2–2.7 s without (docs/benchmarks.md).
The Kafka clients need a workaround on it (`streams.kafka_connections`).
"""

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs `main` to completion in a fresh uvloop event loop, as `asyncio.run` does."""
    return uvloop.run(main)
