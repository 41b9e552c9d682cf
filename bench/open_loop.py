"""Open-loop load with a watcher: commands sent at a fixed rate whatever the answers, and a
thread polling for each acknowledged one to become visible. Shared by the end-to-end,
order-flow and sustained-load benchmarks.

Commands go out on a fixed schedule over keep-alive connections, one aiohttp session each
(a client with many spends its time, and the cores the platform needs, scanning its pool
on every request; idle connections are dropped before uvicorn's 5 s keep-alive timeout can
close one under a request). Beyond the connections, a command waits in this process for a
free one, and its latency counts from its scheduled time. aiohttp, not httpx: the senders
share the machine with the platform they measure, and a request costs aiohttp's client
0.11-0.17 ms of CPU against httpx's 0.67-0.77 ms (measured here against the bare app):
an eighth of a core less at the sustained run's 250 requests a second.
"""

import asyncio
import contextlib
import json
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# Each poll asks about every pending command, so its cost grows with the backlog. Once the
# platform has fallen behind, polling every few milliseconds measures nothing finer than
# the latencies themselves, and it takes the cores the platform is measured on (the
# watchers' queries were a share of PostgreSQL's CPU under the sustained load). So the
# pause between polls grows with the oldest pending command's wait: up to this share of it.
RELATIVE_RESOLUTION = 0.02


@dataclass
class Run:
    """What one run observed, in `time.perf_counter()` seconds."""

    scheduled: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    visible: dict[str, float] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)  # pending: two threads
    poll_seconds: list[float] = field(default_factory=list)
    sending_done: bool = False
    send_span: float = 0.0
    # strict: the first answer other than a 201 stops the run, and so does a command not
    # visible in time; else each such answer (or transport error) is counted in `failures`,
    # the run goes on, and the watcher stops at its deadline leaving the rest `pending`.
    strict: bool = True
    failures: list[str] = field(default_factory=list)

    def sent_and_acked(self, count: int) -> tuple[float, float]:
        """Commands a second: sent on the schedule, and acknowledged."""
        sent = (count - 1) / self.send_span if count > 1 and self.send_span else float(count)
        if not self.acked:
            return sent, 0.0
        return sent, len(self.acked) / (max(self.acked.values()) - min(self.scheduled.values()))

    def resolution_ms(self, poll_seconds: float) -> float:
        """How late a visibility may be seen: one interval and one poll (or, when longer,
        RELATIVE_RESOLUTION of its latency)."""
        return poll_seconds * 1000 + statistics.median(self.poll_seconds) * 1000


@asynccontextmanager
async def connections(base_url: str, headers: Callable[[int], dict[str, str]],
                      count: int) -> AsyncIterator["asyncio.Queue[aiohttp.ClientSession]"]:
    """`count` keep-alive sessions of one connection each (session k with `headers(k)`),
    free ones in a queue."""
    async with contextlib.AsyncExitStack() as stack:
        clients: asyncio.Queue[aiohttp.ClientSession] = asyncio.Queue()
        for k in range(count):
            clients.put_nowait(await stack.enter_async_context(aiohttp.ClientSession(
                base_url, headers=headers(k), timeout=aiohttp.ClientTimeout(total=60),
                connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=2.0))))
        yield clients


async def send(run: Run, clients: "asyncio.Queue[aiohttp.ClientSession]", path: str,
               bodies: Sequence[dict[str, Any]], count: int, rate: float) -> None:
    """`count` POSTs of `bodies` (in turn) to `path`, `rate` a second on a fixed schedule;
    each answer's `id` joins the pending ones."""
    try:
        start = time.perf_counter()
        tasks = []
        for i in range(count):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(
                _post(clients, run, scheduled, path, bodies[i % len(bodies)])))
        run.send_span = time.perf_counter() - start
        await asyncio.gather(*tasks)
    finally:
        run.sending_done = True  # the watcher stops once the last ones are seen


async def _post(clients: "asyncio.Queue[aiohttp.ClientSession]", run: Run, scheduled: float,
                path: str, body: dict[str, Any]) -> None:
    client = await clients.get()  # a free connection; while none is, the command waits
    try:
        async with client.post(path, json=body) as response:
            status, answer = response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        if run.strict:
            raise
        run.failures.append(f"{path}: {type(error).__name__}: {error}")
        return
    finally:
        clients.put_nowait(client)
    acked = time.perf_counter()
    if status != 201:
        failure = f"{path} answered {status}: {answer[:300].decode(errors='replace')}"
        if run.strict:
            raise RuntimeError(failure)
        run.failures.append(failure)
        return
    key = str(json.loads(answer)["id"])
    run.scheduled[key], run.acked[key] = scheduled, acked
    with run.lock:
        run.pending.add(key)


def watch(run: Run, visible: Callable[[list[str]], set[str]], poll_seconds: float,
          drain_seconds: float, what: str) -> None:
    """Asks `visible` which of the pending ids are visible, every `poll_seconds` (or
    RELATIVE_RESOLUTION of the oldest one's wait, when longer), until every acknowledged
    one is; if some are not `drain_seconds` after sending, fails (a strict run) or
    returns with them pending."""
    pause = threading.Event()
    deadline: float | None = None
    while True:
        with run.lock:
            asked = list(run.pending)
            finished = run.sending_done and not asked
        if finished:
            return
        interval = poll_seconds
        if asked:
            oldest = min(run.scheduled[key] for key in asked)
            interval = max(poll_seconds, (time.perf_counter() - oldest) * RELATIVE_RESOLUTION)
            started = time.perf_counter()
            seen_now = visible(asked)
            seen = time.perf_counter()
            run.poll_seconds.append(seen - started)
            with run.lock:
                for key in seen_now:
                    run.visible[key] = seen
                    run.pending.discard(key)
        if run.sending_done:
            deadline = deadline or time.perf_counter() + drain_seconds
            if time.perf_counter() > deadline:
                if not run.strict:
                    return
                raise RuntimeError(f"{len(run.pending)} {what} never became visible, "
                                   f"e.g. {sorted(run.pending)[:3]}")
        pause.wait(interval)


def milliseconds(later: dict[str, float], earlier: dict[str, float]) -> list[float]:
    return [max(0.0, later[k] - earlier[k]) * 1000 for k in earlier]
