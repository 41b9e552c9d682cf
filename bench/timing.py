"""A/B/A timing: the baseline runs before and after ours, and medians are compared."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    ours_per_second: float
    baseline_per_second: float

    @property
    def ratio(self) -> float:
        return self.ours_per_second / self.baseline_per_second

    def line(self) -> str:
        return (f"{self.name}: ours {self.ours_per_second:,.0f}/s, "
                f"baseline {self.baseline_per_second:,.0f}/s, ratio {self.ratio:.2f}")


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
