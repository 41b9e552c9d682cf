"""A/B/A timing: the baseline runs before and after ours, and medians are compared."""

import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A throughput of ours against a baseline measured in the same run."""

    name: str
    ours_per_second: float
    baseline_per_second: float

    @property
    def ratio(self) -> float:
        return self.ours_per_second / self.baseline_per_second

    def row(self) -> str:
        return (f"{self.name:<34}{self.ours_per_second:>12,.0f}{self.baseline_per_second:>14,.0f}"
                f"{self.ratio:>8.2f}")

    def line(self) -> str:
        return (f"{self.name}: ours {self.ours_per_second:,.0f}/s, "
                f"baseline {self.baseline_per_second:,.0f}/s, ratio {self.ratio:.2f}")


@dataclass(frozen=True)
class Absolute:
    """A figure with no baseline (latency percentiles, rebuild speed, peak memory)."""

    name: str
    values: dict[str, float]  # label → value, e.g. {"p50": 12.3}
    unit: str  # "ms", "events/s", "MiB"

    def row(self) -> str:
        shown = ", ".join(f"{k} {v:,.1f}" for k, v in self.values.items())
        return f"{self.name:<34}{shown} {self.unit}"

    def line(self) -> str:
        return f"{self.name}: " + ", ".join(
            f"{k} {v:,.1f} {self.unit}" for k, v in self.values.items())


Result = Figure | Absolute


@dataclass(frozen=True)
class Scale:
    """How much each benchmark does: `n` items per timed run, `rounds` runs of ours."""

    n: int
    rounds: int


def rate(run: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    run(n)
    return n / (time.perf_counter() - start)


def compare(name: str, ours: Callable[[int], None], baseline: Callable[[int], None], n: int,
            rounds: int = 3) -> Figure:
    """Runs baseline, ours, baseline, ... `rounds` times each; medians of each side."""
    ours_rates, base_rates = [], []
    base_rates.append(rate(baseline, n))
    for _ in range(rounds):
        ours_rates.append(rate(ours, n))
        base_rates.append(rate(baseline, n))
    return Figure(name, statistics.median(ours_rates), statistics.median(base_rates))


async def arate(run: Callable[[int], Awaitable[None]], n: int) -> float:
    start = time.perf_counter()
    await run(n)
    return n / (time.perf_counter() - start)


async def acompare(name: str, ours: Callable[[int], Awaitable[None]],
                   baseline: Callable[[int], Awaitable[None]], n: int, rounds: int = 3) -> Figure:
    """`compare` for coroutines: baseline, ours, baseline, ...; medians of each side."""
    ours_rates, base_rates = [], []
    base_rates.append(await arate(baseline, n))
    for _ in range(rounds):
        ours_rates.append(await arate(ours, n))
        base_rates.append(await arate(baseline, n))
    return Figure(name, statistics.median(ours_rates), statistics.median(base_rates))


async def acompare_timed(name: str, ours: Callable[[int], Awaitable[float]],
                         baseline: Callable[[int], Awaitable[float]], n: int,
                         rounds: int = 3) -> Figure:
    """`acompare` for runs that time themselves and return the seconds they measured, so
    that what each run sets up around its timed part (a fresh topic, a consumer group
    joining) is left out; baseline, ours, baseline, ...; medians of each side."""
    ours_rates, base_rates = [], []
    base_rates.append(n / await baseline(n))
    for _ in range(rounds):
        ours_rates.append(n / await ours(n))
        base_rates.append(n / await baseline(n))
    return Figure(name, statistics.median(ours_rates), statistics.median(base_rates))


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`th percentile (0-100) of `values`, interpolated between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(values: Sequence[float], ps: Iterable[float]) -> dict[str, float]:
    """`{"p50": ..., "p99": ...}` for an `Absolute`."""
    return {f"p{p:g}": percentile(values, p) for p in ps}
