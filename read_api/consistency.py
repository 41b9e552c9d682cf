"""Read-your-writes: wait, bounded, until a read model reflects a consistency token."""

import asyncio

from read_api.deps import ReadSide
from runtime.problems import ProblemError
from schemas.consistency import ConsistencyToken

RECHECK_SECONDS = 0.1  # a re-check even without a signal, in case one was missed


def parse_token(text: str) -> ConsistencyToken:
    try:
        token = ConsistencyToken.parse(text)
    except ValueError:
        raise ProblemError(400, "invalid-consistency-token", "Malformed consistency token") from None
    if token.aggregate_type != "Product":
        raise ProblemError(
            400, "invalid-consistency-token", "This read cannot wait for that token"
        )
    return token


async def wait_until_visible(read: ReadSide, token: ConsistencyToken, timeout: float) -> None:
    """Returns once the products read model holds `token`'s version; 503 after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await read.products.version_of(token.aggregate_id) < token.version:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise ProblemError(
                503,
                "consistency-timeout",
                f"The read model did not reflect the write within {timeout:g}s; retry later",
                headers={"Retry-After": "1"},
            )
        await read.signals.wait(min(remaining, RECHECK_SECONDS))
