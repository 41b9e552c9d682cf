"""The projection lag as the read API's /ready reports it (per context, the relay's position
in its event store less the highest one the worker has applied): sampled while load runs,
then followed until it is 0."""

import json
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.support.waiting import wait_until

LAG_SAMPLE_SECONDS = 1.0
DRAIN_SECONDS = 60.0


@dataclass
class LagSamples:
    """What /ready said of the projection lag (events), once a second."""

    lag_events: list[int] = field(default_factory=list)
    not_ready: list[str] = field(default_factory=list)


def read_lag(client: httpx.Client, read_url: str) -> tuple[int | None, str]:
    """The projection's lag in events (None if the read API is not ready), and the
    projection check's whole report."""
    response = client.get(f"{read_url}/ready")
    projection = response.json().get("checks", {}).get("projection")
    if response.status_code == 200 and isinstance(projection, dict):
        return int(projection["lag_events"]), json.dumps(projection)
    return None, f"{response.status_code}: {str(projection)[:200]}"


def sample_lag(read_url: str, samples: LagSamples, stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.wait(LAG_SAMPLE_SECONDS):
            lag, report = read_lag(client, read_url)
            if lag is None:
                samples.not_ready.append(report)
            else:
                samples.lag_events.append(lag)


@dataclass(frozen=True)
class Drain:
    """The lag right after the run, and the seconds it took to reach 0 (None: not within
    `DRAIN_SECONDS`; then the last report)."""

    lag_at_end: int | None
    seconds: float | None
    last_report: str


def drain(read_url: str) -> Drain:
    with httpx.Client(timeout=10) as client:
        start = time.monotonic()
        first, report = read_lag(client, read_url)
        try:
            wait_until(lambda: read_lag(client, read_url)[0] == 0, DRAIN_SECONDS,
                       "the projection lag to drain")
        except AssertionError:
            return Drain(first, None, read_lag(client, read_url)[1])
        return Drain(first, time.monotonic() - start, report)
