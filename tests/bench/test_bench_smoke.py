"""A smoke run of every benchmark on the real services: each runs and prints its lines.

`python -m bench --smoke` as a user runs it, with the services' TANQORY_* variables of
this environment; the figures are only checked to be there and positive, not fast.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
TIMEOUT_SECONDS = 180
FIGURES = {
    "command_write": ["command write (sqlite)", "command write (postgres)"],
    "reserve": ["reserve stock (sqlite)", "reserve stock (postgres)"],
    "place_order": ["place order (sqlite)", "place order (postgres)"],
    "read_by_id": ["read by id (cache hit)", "read by id (cache miss)"],
    "relay": ["relay: postgres -> kafka"],
    "projection": ["projection: kafka -> mongo models"],
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
}


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
