"""`python -m bench.locust_run --users U --spawn-rate R --minutes M`: the Locust scenario
(bench/locust_scenario.py) against the whole server platform on this machine.

Needs the real services (`eval "$(scripts/services.sh env)"`) and Locust (`pip install -c
constraints.txt -e ".[bench]"`). It starts the server processes (command API, relay,
worker, sagas, read API) in a fresh namespace, as the benchmarks do, seeds `--categories`
categories and `--products` products (stocked, in the categories in turn) and waits until
they are readable; then runs Locust headless as a subprocess for `--minutes` (its users
target loopback only), and prints per endpoint: requests, failures, requests/s and the
p50/p95/p99 response times; then the errors (there must be none) and the projection lag
that the read API's /ready reports (sampled every second during the run, then followed
until it is back to 0). Everything stops by itself; the exit status is 1 if any request
failed or the lag did not drain.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from bench import order_flow
from bench.http_servers import ROOT, editor_headers, server_platform
from bench.projection_lag import DRAIN_SECONDS, Drain, LagSamples, drain, sample_lag
from tests.support.platform import Platform
from tests.support.waiting import wait_until

SCENARIO = Path(__file__).with_name("locust_scenario.py")
STOCK = 1_000_000  # units of each product: no order is short
STOP_TIMEOUT_SECONDS = 90  # for a shopper to finish the order it is following
PERCENTILES = (50, 95, 99)
LOG_TAIL_LINES = 40


def seed(platform: Platform, products: int, categories: int) -> dict[str, list[str]]:
    """Categories and stocked products, once all are readable: what the scenario uses."""
    slugs, ids = [], []
    with httpx.Client(timeout=30) as client:
        for k in range(categories):
            created = client.post(f"{platform.command_url}/api/v1/categories",
                                  headers=editor_headers(platform),
                                  json={"name": f"Bench category {k}", "slug": f"bench-{k}"})
            if created.status_code != 201:
                raise RuntimeError(f"category answered {created.status_code}: {created.text}")
            slugs.append(f"bench-{k}")
            ids.append(str(created.json()["id"]))
        for slug in slugs:
            url = f"{platform.read_url}/api/v1/categories/{slug}"
            wait_until(partial(_readable, client, url), 60, f"category {slug}")
    stocked = order_flow.stocked_products(platform, STOCK, products, ids)
    return {"products": stocked, "categories": slugs}


def _readable(client: httpx.Client, url: str) -> bool:
    return client.get(url).status_code == 200


def run_locust(platform: Platform, seed_file: Path, out: Path, users: int,
               spawn_rate: float, seconds: int) -> int:
    """Locust headless for `seconds`, its final statistics in `out`.json, its failures in
    `out`_failures.csv and its output in `out`.log; its exit status (1 if a request
    failed)."""
    env = {**os.environ, "TANQORY_STRIPE_WEBHOOK_SECRET":
           platform.settings.stripe_webhook_secret.get_secret_value()}
    command = [sys.executable, "-m", "locust", "-f", str(SCENARIO), "--headless",
               "--host", platform.command_url, "--read-host", platform.read_url,
               "--seed-file", str(seed_file), "-u", str(users), "-r", str(spawn_rate),
               "-t", f"{seconds}s", "--stop-timeout", str(STOP_TIMEOUT_SECONDS),
               "--csv", str(out), "--json-file", str(out), "--loglevel", "WARNING"]
    with open(f"{out}.log", "wb") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=log,
                              stderr=subprocess.STDOUT,
                              timeout=seconds + STOP_TIMEOUT_SECONDS + 120)
    if done.returncode != 0:
        lines = Path(f"{out}.log").read_text(errors="replace").splitlines()
        print("\n".join(lines[-LOG_TAIL_LINES:]), file=sys.stderr)
    return done.returncode


@dataclass(frozen=True)
class Endpoint:
    """Locust's figures for one request name (and method), from its final statistics."""

    name: str
    requests: int
    failures: int
    response_times: dict[int, int]  # Locust's histogram: rounded ms -> requests

    def percentile(self, fraction: float) -> int:
        """As Locust computes it: the bucket within which `fraction` of requests finished."""
        wanted = int(self.requests * fraction)
        done = 0
        for ms in sorted(self.response_times, reverse=True):
            done += self.response_times[ms]
            if self.requests - done <= wanted:
                return ms
        return 0


def endpoints(json_file: Path) -> tuple[list[Endpoint], float]:
    """Every endpoint, then all of them together; and the seconds they span."""
    entries = json.loads(json_file.read_text(encoding="utf-8"))
    found = [Endpoint(f"{e['method']} {e['name']}", e["num_requests"], e["num_failures"],
                      {int(ms): n for ms, n in e["response_times"].items()})
             for e in sorted(entries, key=lambda e: (e["name"], e["method"]))]
    together: dict[int, int] = {}
    for endpoint in found:
        for ms, n in endpoint.response_times.items():
            together[ms] = together.get(ms, 0) + n
    found.append(Endpoint("all", sum(e.requests for e in found),
                          sum(e.failures for e in found), together))
    span = (max(e["last_request_timestamp"] or 0 for e in entries)
            - min(e["start_time"] for e in entries)) if entries else 0.0
    return found, span


def failure_examples(csv_prefix: Path) -> list[str]:
    """Locust's failure messages (its CSV, written every few seconds: examples, not all)."""
    with open(f"{csv_prefix}_failures.csv", newline="", encoding="utf-8") as file:
        return [f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error'][:200]}"
                for row in csv.DictReader(file)]


def print_report(found: list[Endpoint], span: float, examples: list[str], lag: LagSamples,
                 drained: Drain) -> None:
    print(f"{'endpoint':<58}{'requests':>9}{'fails':>7}{'req/s':>8}"
          + "".join(f"{f'p{p:g}':>7}" for p in PERCENTILES) + " (ms)")
    for e in found:
        print(f"{e.name[:57]:<58}{e.requests:>9}{e.failures:>7}"
              f"{e.requests / span if span else 0.0:>8.1f}"
              + "".join(f"{e.percentile(p / 100):>7}" for p in PERCENTILES))
    print(f"errors: {found[-1].failures}")
    for example in examples:
        print(f"  {example}")
    peak = max(lag.lag_events, default=0)
    print(f"projection lag: max {peak} events over {len(lag.lag_events)} samples, "
          f"{drained.lag_at_end} at the end, "
          + (f"0 after {drained.seconds:.1f} s" if drained.seconds is not None else
             f"not 0 within {DRAIN_SECONDS:.0f} s: {drained.last_report}"))
    if lag.not_ready:
        print(f"read API not ready {len(lag.not_ready)} times, e.g. {lag.not_ready[0]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locust_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent Locust users")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started a second")
    parser.add_argument("--minutes", type=float, default=1.0, help="how long the load runs")
    parser.add_argument("--products", type=int, default=100, help="products seeded")
    parser.add_argument("--categories", type=int, default=5, help="categories seeded")
    args = parser.parse_args(argv)
    with server_platform(order_flow.PROCESSES) as platform, \
            tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        seed_file, out = Path(tmp) / "seed.json", Path(tmp) / "load"
        seed_file.write_text(json.dumps(seed(platform, args.products, args.categories)))
        lag, stop = LagSamples(), threading.Event()
        sampler = threading.Thread(target=sample_lag, args=(platform.read_url, lag, stop))
        sampler.start()
        try:
            status = run_locust(platform, seed_file, out, args.users, args.spawn_rate,
                                round(args.minutes * 60))
        finally:
            stop.set()
            sampler.join()
        drained = drain(platform.read_url)
        found, span = endpoints(Path(f"{out}.json"))
        print_report(found, span, failure_examples(out), lag, drained)
    failed = found[-1].requests == 0 or found[-1].failures > 0
    return 1 if status != 0 or failed or drained.seconds is None else 0


if __name__ == "__main__":
    sys.exit(main())
