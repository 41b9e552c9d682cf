"""The projection lag that /ready reports, per context."""

import pytest

from runtime.progress import MemoryProgress, lag_report

CONTEXTS = ("catalog", "inventory")


async def test_lag_is_how_far_each_projector_trails_its_relay() -> None:
    progress = MemoryProgress()
    empty = lag_report(await progress.read(), CONTEXTS, stale_after=60)
    assert (empty["status"], empty["lag_events"]) == ("ok", 0)
    await progress.record({"relay.catalog": 120})
    with pytest.raises(RuntimeError, match="projector of catalog has not reported"):
        lag_report(await progress.read(), CONTEXTS, stale_after=60)
    await progress.record({"projector.catalog": 100})
    await progress.record({"relay.inventory": 7})
    await progress.record({"projector.inventory": 4})
    report = lag_report(await progress.read(), CONTEXTS, stale_after=60)
    assert report["lag_events"] == 23
    contexts = report["contexts"]
    assert isinstance(contexts, dict)
    assert (contexts["catalog"]["lag_events"], contexts["catalog"]["relay_position"]) == (20, 120)
    assert contexts["inventory"]["lag_events"] == 3


def test_a_silent_projector_is_not_ready() -> None:
    with pytest.raises(RuntimeError, match="inventory last reported 90s ago"):
        lag_report({"relay.inventory": (5, 0.0), "projector.inventory": (5, 90.0)}, CONTEXTS,
                   stale_after=60)
