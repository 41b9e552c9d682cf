"""Awaiting several jobs at once."""

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def side_by_side(jobs: Iterable[Awaitable[T]]) -> list[T]:
    """The jobs' results, the jobs run side by side; once every one has finished, raises
    the first failure (none is left running, half done, behind the caller's back)."""
    results: list[T] = []
    for outcome in await asyncio.gather(*jobs, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
        results.append(outcome)
    return results
