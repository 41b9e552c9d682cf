"""A smoke run of every benchmark on the real services: each runs and prints its lines.

`python -m bench --smoke` as a user runs it, with the services' TANQORY_* variables of
this environment; the figures are only checked to be there and positive, not fast.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import projection, scale
from bench.__main__ import SMOKE
from runtime.settings import Settings

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
TIMEOUT_SECONDS = 180
FIGURES = {
    "command_write": ["command write (sqlite)", "command write (postgres)"],
    "reserve": ["reserve stock (sqlite)", "reserve stock (postgres)",
                "reserve+commit, item 5n orders old"],
    "place_order": ["place order (sqlite)", "place order (postgres)"],
    "read_by_id": ["read by id (cache hit)", "read by id (cache miss)"],
    "relay": ["relay: postgres -> kafka"],
    "projection": [projection.NAMES[Settings().read_store]],  # the store this run uses
    "analytics_sink": ["analytics: kafka -> clickhouse"],
    "rebuild_stores": ["rebuild: products -> mongodb", "rebuild: facts -> clickhouse"],
    "login": ["sign-in (embedded)", "token check (cache-hit read)"],  # needs no services
}
ABSOLUTES = {  # line name: (unit, labels)
    "end_to_end": {
        "end to end (ack → visible)": ("ms", ["p50", "p99", "p99.9"]),
        "end to end: command ack": ("ms", ["p50", "p99"]),
        "end to end: send rate": ("cmd/s", ["target", "sent", "acked"]),
        "end to end: resolution": ("ms", ["up to"]),
        "peak memory (VmHWM)": ("MiB", ["command-api", "relay", "worker", "read-api"]),
    },
    "order_flow": {
        "order flow (place → awaiting_payment)": ("ms", ["p50", "p99", "p99.9"]),
        "order flow: ack → awaiting_payment": ("ms", ["p50", "p99"]),
        "order flow: command ack": ("ms", ["p50", "p99"]),
        "order flow: send rate": ("orders/s", ["target", "sent", "acked"]),
        "order flow: resolution": ("ms", ["up to"]),
        "order flow: peak memory (VmHWM)": ("MiB", ["command-api", "relay", "worker", "sagas",
                                                     "read-api"]),
    },
    "rebuild": {"rebuild: full handler": ("events/s", ["median", "min", "max"])},
    "archive_check": {
        **{name: ("ms", ["p50 1k", "p50 10k"]) for name in ("archive append",
                                                           "archive check by id")},
        **{f"{name}: growth": ("x", ["p50 10k/1k"]) for name in ("archive append",
                                                                 "archive check by id")},
    },
    "sustained": {
        **{f"sustained {stream}: {figure}": ("ms", ["p50", "p99"])
           for stream in ("creates", "orders") for figure in ("command ack", "cmd → visible")},
        "sustained creates: send rate": ("/s", ["target", "sent", "acked"]),
        "sustained orders: send rate": ("/s", ["target", "sent", "acked"]),
        "sustained: resolution": ("ms", ["creates", "orders"]),
        **{f"sustained: RSS {process}": ("MiB", ["start", "middle", "end", "peak"])
           for process in ("command-api", "relay", "worker", "sagas", "read-api")},
    },
}
# Lines that must be there, whatever their values (an idle process may use no CPU in a
# smoke run; the rest is the machine's less the processes', about 0 on a quiet machine).
PRESENT = {"sustained": {"sustained: CPU, % of a core": ("%", [
    "command-api", "relay", "worker", "sagas", "read-api", "postgresql", "kafka", "clickhouse",
    "redis", "ferretdb", "stripe-mock", "benchmark", "rest", "machine"])}}
ZERO_LINES = {"sustained": ["sustained: errors: creates 0.0 commands, orders 0.0 commands",
                            ("sustained: not visible in time: creates 0.0 commands, "
                             "orders 0.0 commands")]}


def run_smoke(name: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", name],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


def numbers(match: re.Match[str]) -> list[float]:
    return [float(value.replace(",", "")) for value in match.groups()]


def figure_pattern(name: str) -> str:
    return rf"^{re.escape(name)}: ours {NUMBER}/s, baseline {NUMBER}/s, ratio {NUMBER}$"


def absolute_pattern(name: str, unit: str, labels: list[str]) -> str:
    values = ", ".join(rf"{re.escape(label)} {NUMBER} {re.escape(unit)}" for label in labels)
    return rf"^{re.escape(name)}: {values}$"


@pytest.mark.parametrize("benchmark", [*FIGURES, *ABSOLUTES])
def test_each_benchmark_prints_its_lines(benchmark: str) -> None:
    output = run_smoke(benchmark)
    patterns = [figure_pattern(name) for name in FIGURES.get(benchmark, [])]
    patterns += [absolute_pattern(name, unit, labels)
                 for name, (unit, labels) in ABSOLUTES.get(benchmark, {}).items()]
    for pattern in patterns:
        match = re.search(pattern, output, re.MULTILINE)
        assert match is not None, f"no line matching {pattern!r} in:\n{output}"
        assert all(value > 0 for value in numbers(match)), match.group(0)
    for name, (unit, labels) in PRESENT.get(benchmark, {}).items():
        pattern = absolute_pattern(name, unit, labels)
        assert re.search(pattern, output, re.MULTILINE), f"no line matching {pattern!r}"
    for line in ZERO_LINES.get(benchmark, []):
        assert line in output.splitlines(), output


def test_scale_prints_each_store_path_and_size() -> None:
    """Percentiles of each store and path at each size of a smoke run, and its growth; or,
    for a path too slow at the first size, that it was not measured at the second (and no
    growth). A growth may print as 0.0 (noise at tiny sizes): only its presence is checked."""
    output = run_smoke("scale")
    first, second = scale.sizes(SMOKE)
    small, large = scale.size_label(first), scale.size_label(second)
    percentiles = ["p50", "p95", "p99"]
    for store in scale.BACKENDS:
        for path in scale.PATHS:
            patterns = [absolute_pattern(scale.figure_name(store, path, first), "ms", percentiles)]
            if not re.search(rf"^{re.escape(scale.figure_name(store, path, second))}: "
                             rf"not measured, p99 at {small} {NUMBER} ms$", output, re.MULTILINE):
                patterns += [
                    absolute_pattern(scale.figure_name(store, path, second), "ms", percentiles),
                    absolute_pattern(scale.figure_name(store, path), "x", [f"p99 {large}/{small}"]),
                ]
            for pattern in patterns:
                assert re.search(pattern, output, re.MULTILINE), (
                    f"no line matching {pattern!r} in:\n{output}")
