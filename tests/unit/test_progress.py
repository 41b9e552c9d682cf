"""The projection lag that /ready reports."""

import pytest

from runtime.progress import MemoryProgress, lag_report


async def test_lag_is_how_far_the_projector_trails_the_relay() -> None:
    progress = MemoryProgress()
    assert lag_report(await progress.read(), stale_after=60) == {"status": "ok", "lag_events": 0}
    await progress.record("relay", 120)
    with pytest.raises(RuntimeError, match="not reported"):
        lag_report(await progress.read(), stale_after=60)
    await progress.record("projector", 100)
    report = lag_report(await progress.read(), stale_after=60)
    assert (report["lag_events"], report["relay_position"]) == (20, 120)


def test_a_silent_projector_is_not_ready() -> None:
    with pytest.raises(RuntimeError, match="last reported 90s ago"):
        lag_report({"relay": (5, 0.0), "projector": (5, 90.0)}, stale_after=60)
