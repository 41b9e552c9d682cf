"""How far each mover of events has got, for /ready: per context, the relay's position in
its event store and the projector's (the highest position it has applied), with when
each last reported. Redis in server mode (each is its own process), memory when embedded."""

import json
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from redis.asyncio import Redis

KEY = "tanqory:progress"


def relay_name(context: str) -> str:
    return f"relay.{context}"


def projector_name(context: str) -> str:
    return f"projector.{context}"


class Progress(Protocol):
    async def record(self, positions: Mapping[str, int]) -> None:
        """name -> position, all reported now (a worker reports every context at once)."""

    async def read(self) -> dict[str, tuple[int, float]]:
        """name -> (position, seconds since it last reported)."""


class MemoryProgress:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, float]] = {}

    async def record(self, positions: Mapping[str, int]) -> None:
        now = time.time()
        self._seen.update({name: (position, now) for name, position in positions.items()})

    async def read(self) -> dict[str, tuple[int, float]]:
        now = time.time()
        return {name: (position, now - at) for name, (position, at) in self._seen.items()}


class RedisProgress:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._redis = client
        self._key = f"{KEY}:{prefix}"

    async def record(self, positions: Mapping[str, int]) -> None:
        now = time.time()
        values = {name: json.dumps({"position": position, "at": now})
                  for name, position in positions.items()}
        await self._redis.hset(self._key, mapping=values)  # type: ignore[arg-type,misc]

    async def read(self) -> dict[str, tuple[int, float]]:
        found = await self._redis.hgetall(self._key)  # type: ignore[misc]
        now = time.time()
        seen = {}
        for name, value in found.items():
            data = json.loads(value)
            seen[name.decode() if isinstance(name, bytes) else name] = (
                int(data["position"]), now - float(data["at"]))
        return seen


def lag_report(seen: dict[str, tuple[int, float]], contexts: Sequence[str],
               stale_after: float | None) -> dict[str, object]:
    """The projector's lag behind the relay, per context; raises if the projector went
    quiet (a context whose relay has published nothing needs no projector yet).

    `stale_after` is how long a projector may stay silent (None when it cannot go
    silent unnoticed, as in one process).
    """
    report: dict[str, object] = {}
    total = 0
    for context in contexts:
        relay = seen.get(relay_name(context), (0, 0.0))
        projector = seen.get(projector_name(context))
        if projector is None:
            if relay[0]:
                raise RuntimeError(f"the projector of {context} has not reported yet")
            report[context] = {"lag_events": 0}
            continue
        if stale_after is not None and projector[1] > stale_after:
            raise RuntimeError(f"the projector of {context} last reported "
                               f"{projector[1]:.0f}s ago")
        lag = max(relay[0] - projector[0], 0)
        total += lag
        report[context] = {"lag_events": lag, "relay_position": relay[0],
                           "projector_position": projector[0],
                           "projector_reported_seconds_ago": round(projector[1], 1)}
    return {"status": "ok", "lag_events": total, "contexts": report}
