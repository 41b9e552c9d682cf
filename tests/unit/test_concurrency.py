"""side_by_side: results in the jobs' order; a failure is raised once every job is done."""

import asyncio

import pytest

from runtime.concurrency import side_by_side
from tests.support.waiting import eventually


async def test_the_results_come_in_the_jobs_order_whatever_finishes_first() -> None:
    first_may_finish = asyncio.Event()
    finished: list[str] = []

    async def first() -> str:
        await first_may_finish.wait()
        finished.append("first")
        return "first"

    async def second() -> str:
        finished.append("second")
        first_may_finish.set()  # the first finishes only after the second
        return "second"

    assert await side_by_side([first(), second()]) == ["first", "second"]
    assert finished == ["second", "first"]


async def test_the_first_failure_is_raised_once_the_other_jobs_have_finished() -> None:
    finished: list[str] = []
    release = asyncio.Event()

    async def failing() -> str:
        finished.append("failing")
        raise ConnectionError("store away")

    async def held() -> str:
        await release.wait()
        finished.append("held")
        return "held"

    async def failed() -> bool:
        return finished == ["failing"]

    waiting = asyncio.create_task(side_by_side([failing(), held()]))
    await eventually(failed, 5, "the first job to fail")
    assert not waiting.done()  # it failed, and side_by_side waits for the held job
    release.set()
    with pytest.raises(ConnectionError, match="store away"):
        await waiting
    assert finished == ["failing", "held"]
