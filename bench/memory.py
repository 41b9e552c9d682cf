"""Resident memory of the platform's processes, sampled while a benchmark runs, so that
whether it stays flat shows: each process's RSS at the start, the middle and the end of
the run, and the highest sample."""

import asyncio
import contextlib
from dataclasses import dataclass, field

from bench.http_servers import resident_memory_mib
from bench.timing import Absolute
from tests.support.platform import Platform

SAMPLE_SECONDS = 0.5


def platform_pids(platform: Platform) -> dict[str, int]:
    """The process id of each of the platform's running processes, by name."""
    return {name: process.process.pid for name, process in platform.processes.items()
            if process.process is not None}


@dataclass
class MemorySamples:
    """RSS (MiB) of each process, oldest sample first, taken at a steady interval."""

    by_process: dict[str, list[float]] = field(default_factory=dict)

    def take(self, pids: dict[str, int]) -> None:
        for name, pid in pids.items():
            self.by_process.setdefault(name, []).append(resident_memory_mib(pid))

    def figures(self, prefix: str) -> list[Absolute]:
        """One line a process: RSS at the start, middle and end, and the peak sample."""
        return [Absolute(f"{prefix}: RSS {name}",
                         {"start": samples[0], "middle": samples[len(samples) // 2],
                          "end": samples[-1], "peak": max(samples)}, "MiB")
                for name, samples in self.by_process.items()]


async def sample_memory(pids: dict[str, int], samples: MemorySamples,
                        done: asyncio.Event) -> None:
    """Samples now, every `SAMPLE_SECONDS` until `done` is set, and once then (reading
    /proc takes microseconds: the event loop it shares is not held up)."""
    while True:
        samples.take(pids)
        if done.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), SAMPLE_SECONDS)
