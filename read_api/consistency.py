"""Read-your-writes: wait, bounded, until a read model reflects a consistency token."""

import asyncio
from typing import Any

from projections.stores.base import ReadModel
from read_api.deps import ReadSide
from runtime.problems import ProblemError
from schemas.consistency import ConsistencyToken

RECHECK_SECONDS = 0.1  # a re-check even without a signal, in case one was missed
CONSISTENCY_WAIT = (
    "With `X-Consistency-Token` (from a command response) the read waits, up to the "
    "consistency timeout, until the read model holds that aggregate at the token's version "
    "or a later one, then answers from the read model. The read side cannot tell a version "
    "not projected yet from one never written: a token for a version (or an aggregate) that "
    "does not exist waits the whole timeout, then answers 503 with `Retry-After`. A malformed "
    "token, or one this read cannot wait for, is a 400."
)


def parse_token(text: str) -> ConsistencyToken:
    try:
        token = ConsistencyToken.parse(text)
    except ValueError:
        raise ProblemError(400, "invalid-consistency-token", "Malformed consistency token") from None
    return token


async def wait_until_visible(read: ReadSide, token: ConsistencyToken, timeout: float,
                             model: ReadModel[Any] | None = None) -> None:
    """Returns once the read model of `token`'s aggregate (or `model`, which the caller
    knows to hold that aggregate's versions too) holds its version; 503 after `timeout`; 400 for an aggregate type no
    read model follows."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        version = await _version(read, token, model)
        if version is None:
            raise ProblemError(400, "invalid-consistency-token",
                               "This read cannot wait for that token")
        if version >= token.version:
            return
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise ProblemError(
                503,
                "consistency-timeout",
                f"The read model did not reflect the write within {timeout:g}s; retry later",
                headers={"Retry-After": "1"},
            )
        await read.signals.wait(min(remaining, RECHECK_SECONDS))


async def wait_for_token(read: ReadSide, token: str | None, timeout: float,
                         accepts: frozenset[str | None], what: str,
                         model: ReadModel[Any] | None = None) -> None:
    """With a token, waits as `wait_until_visible` does, for one of the aggregate types
    this read `accepts` only (else 400, naming `what` it can wait for)."""
    if token is None:
        return
    parsed = parse_token(token)
    if parsed.aggregate_type not in accepts:
        raise ProblemError(400, "invalid-consistency-token",
                           f"This read can only wait for {what} token")
    await wait_until_visible(read, parsed, timeout, model)


async def _version(read: ReadSide, token: ConsistencyToken, model: ReadModel[Any] | None
                   ) -> int | None:
    if model is None:
        return await read.models.version_of(token.aggregate_type, token.aggregate_id)
    return await read.models.get(model).version_of(token.aggregate_id)
