"""Consumer groups run side by side in one process (`tanqory worker`, ADR 0023)."""

import asyncio
import os
import signal

import pytest

from streams.worker import serve


class Member:
    """Runs until stopped, or fails with `error` once `fail` is set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.started = asyncio.Event()
        self.fail = asyncio.Event()
        self.stopped = asyncio.Event()
        self.left = False

    async def run(self) -> None:
        self.started.set()
        try:
            waits = [asyncio.create_task(self.stopped.wait()),
                     asyncio.create_task(self.fail.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()
            if self.fail.is_set() and self.error is not None:
                raise self.error
        finally:
            self.left = True  # a worker leaves its group on the way out

    def stop(self) -> None:
        self.stopped.set()


async def test_a_group_that_fails_stops_the_others_and_its_error_propagates() -> None:
    healthy, failing = Member(), Member(RuntimeError("ClickHouse is gone"))
    serving = asyncio.create_task(serve([healthy, failing]))
    await asyncio.wait_for(failing.started.wait(), timeout=1)
    failing.fail.set()
    with pytest.raises(ExceptionGroup) as raised:
        await asyncio.wait_for(serving, timeout=1)
    assert raised.group_contains(RuntimeError, match="ClickHouse is gone")
    assert healthy.left


async def test_sigterm_stops_every_group() -> None:
    first, second = Member(), Member()
    serving = asyncio.create_task(serve([first, second]))
    await asyncio.wait_for(asyncio.gather(first.started.wait(), second.started.wait()), 1)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, timeout=1)
    assert first.stopped.is_set() and second.stopped.is_set()
    assert first.left and second.left
