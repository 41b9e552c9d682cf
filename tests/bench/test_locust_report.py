"""The Locust runner's reading of Locust's final statistics (its --json-file output)."""

import json
from pathlib import Path

from bench.locust_run import Endpoint, endpoints


def entry(method: str, name: str, times: dict[int, int], failures: int = 0,
          start: float = 100.0, last: float = 110.0) -> dict[str, object]:
    return {"method": method, "name": name, "num_requests": sum(times.values()),
            "num_failures": failures, "response_times": {str(k): v for k, v in times.items()},
            "start_time": start, "last_request_timestamp": last}


def test_percentiles_are_computed_as_locust_computes_them() -> None:
    """The bucket holding the request just past the fraction (Locust's own figures for
    this histogram, checked against locust.stats.calculate_response_time_percentile)."""
    endpoint = Endpoint("GET /x", 100, 0, {10: 50, 20: 45, 300: 4, 1000: 1})
    assert [endpoint.percentile(p) for p in (0.5, 0.95, 0.99, 1.0)] == [20, 300, 1000, 1000]


def test_endpoints_are_listed_by_name_then_all_of_them(tmp_path: Path) -> None:
    stats = tmp_path / "load.json"
    stats.write_text(json.dumps([
        entry("POST", "/api/v1/orders", {30: 3, 40: 1}, failures=1, start=101.0),
        entry("GET", "/api/v1/categories", {5: 6}, last=120.0),
    ]))
    found, span = endpoints(stats)
    assert [(e.name, e.requests, e.failures) for e in found] == [
        ("GET /api/v1/categories", 6, 0), ("POST /api/v1/orders", 4, 1), ("all", 10, 1)]
    assert found[-1].response_times == {5: 6, 30: 3, 40: 1}
    assert [found[-1].percentile(p) for p in (0.5, 0.8, 0.9)] == [5, 30, 40]
    assert span == 20.0
