"""Resident memory and CPU of the platform's processes, sampled while a benchmark runs:
whether memory stays flat (each process's RSS at the start, the middle and the end of the
run, and the highest sample), and where the cores went (each process's CPU time over the
run, each service's of scripts/services.sh, the benchmark's own clients', and the whole
machine's: the rest is everything else)."""

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.http_servers import resident_memory_mib
from bench.timing import Absolute
from tests.support.platform import Platform

SAMPLE_SECONDS = 0.5
TICKS = os.sysconf("SC_CLK_TCK")  # /proc's unit of CPU time


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (stat's 14th, 15th)


# The services' processes by command name (/proc/PID/comm: at most 15 characters).
SERVICES = {"postgres": "postgresql", "java": "kafka", "clickhouse-serv": "clickhouse",
            "redis-server": "redis", "ferretdb": "ferretdb", "stripe-mock": "stripe-mock"}


def service_cpu_seconds() -> dict[str, float]:
    """The CPU time each service's processes have used so far, in seconds. A process's
    reaped children count in it (cutime, cstime), so a PostgreSQL backend that ends
    between two readings still counts: in its own time before, in the postmaster's after."""
    used = dict.fromkeys(SERVICES.values(), 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while the others were read
            continue
        name = SERVICES.get(text[text.index("(") + 1:text.rindex(")")])
        if name is not None:
            fields = text.rpartition(")")[2].split()
            used[name] += sum(int(v) for v in fields[11:15]) / TICKS  # utime ... cstime
    return used


def machine_busy_seconds() -> float:
    """The CPU time all cores have spent busy so far (all but idle and iowait), in seconds."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def platform_pids(platform: Platform) -> dict[str, int]:
    """The process id of each of the platform's running processes, by name."""
    return {name: process.process.pid for name, process in platform.processes.items()
            if process.process is not None}


@dataclass
class CpuMark:
    """CPU times at one moment: each process's and the machine's busy time."""

    at: float
    by_process: dict[str, float]  # the platform's, the services', the benchmark's own
    machine: float


def cpu_mark(pids: dict[str, int]) -> CpuMark:
    return CpuMark(time.monotonic(), {**{name: cpu_seconds(pid) for name, pid in pids.items()},
                                      **service_cpu_seconds(),
                                      "benchmark": cpu_seconds(os.getpid())},
                   machine_busy_seconds())


@dataclass
class ProcessSamples:
    """RSS (MiB) of each process, oldest sample first, taken at a steady interval; CPU
    times at the first sample and the last."""

    by_process: dict[str, list[float]] = field(default_factory=dict)
    cpu: list[CpuMark] = field(default_factory=list)

    def take(self, pids: dict[str, int]) -> None:
        for name, pid in pids.items():
            self.by_process.setdefault(name, []).append(resident_memory_mib(pid))
        self.cpu[1:] = [cpu_mark(pids)]  # the first mark stays, the last is replaced

    def figures(self, prefix: str) -> list[Absolute]:
        """One line a process: RSS at the start, middle and end, and the peak sample."""
        return [Absolute(f"{prefix}: RSS {name}",
                         {"start": samples[0], "middle": samples[len(samples) // 2],
                          "end": samples[-1], "peak": max(samples)}, "MiB")
                for name, samples in self.by_process.items()]

    def cpu_figure(self, prefix: str) -> Absolute:
        """How busy each process, service and the benchmark's clients kept the cores on
        average over the run (100 = one core all the time), the machine in all, and the
        rest (the kernel's own work, anything else running)."""
        first, last = self.cpu[0], self.cpu[-1]
        per_core = 100 / max(last.at - first.at, 1e-9)
        busy = {name: (last.by_process[name] - first.by_process[name]) * per_core
                for name in first.by_process}
        machine = (last.machine - first.machine) * per_core
        rest = max(0.0, machine - sum(busy.values()))  # below 0 only by the clock ticks
        return Absolute(f"{prefix}: CPU, % of a core", {**busy, "rest": rest,
                                                         "machine": machine}, "%")


async def sample_processes(pids: dict[str, int], samples: ProcessSamples,
                           done: asyncio.Event) -> None:
    """Samples now, every `SAMPLE_SECONDS` until `done` is set, and once then (reading
    /proc takes microseconds: the event loop it shares is not held up)."""
    while True:
        samples.take(pids)
        if done.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), SAMPLE_SECONDS)
