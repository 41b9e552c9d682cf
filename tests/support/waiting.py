"""Waiting on conditions, each with a deadline (never a bare sleep)."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05
) -> T:
    """Returns the first truthy value of `condition()`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from last_error
        pause.wait(interval)


async def eventually(
    condition: Callable[[], Awaitable[T]], timeout: float, what: str, interval: float = 0.05
) -> T:
    """`wait_until` on the running event loop, whose other tasks go on meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = await condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from last_error
        pause = loop.create_future()
        loop.call_later(interval, pause.set_result, None)
        await pause
