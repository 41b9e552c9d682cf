"""side_by_side: results in the jobs' order; a failure is raised once every job is done."""

import asyncio

import pytest

from runtime.concurrency import side_by_side


async def test_the_results_come_in_the_jobs_order_whatever_finishes_first() -> None:
    async def after(turns: int, value: str) -> str:
        for _ in range(turns):
            await asyncio.sleep(0)
        return value

    assert await side_by_side([after(3, "slow"), after(0, "quick")]) == ["slow", "quick"]


async def test_the_first_failure_is_raised_once_the_other_jobs_have_finished() -> None:
    finished: list[str] = []
    release = asyncio.Event()

    async def failing() -> str:
        raise ConnectionError("store away")

    async def held() -> str:
        await release.wait()
        finished.append("held")
        return "held"

    waiting = asyncio.create_task(side_by_side([failing(), held()]))
    for _ in range(5):
        await asyncio.sleep(0)  # turns of the loop, not time: the failure has happened
    assert not waiting.done()
    release.set()
    with pytest.raises(ConnectionError, match="store away"):
        await waiting
    assert finished == ["held"]
