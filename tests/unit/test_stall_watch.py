"""When a backlog that stands still is a stall (streams/stall_watch.py)."""

import pytest
from aiokafka import TopicPartition

from streams.stall_watch import StallWatch, WorkerStalled

P0 = TopicPartition("tanqory.catalog.events", 0)
P1 = TopicPartition("tanqory.catalog.events", 1)


def test_a_backlog_that_stands_still_for_the_limit_is_a_stall() -> None:
    watch = StallWatch(limit=60)
    watch.observe({P0: 5, P1: 7}, {P0: 5, P1: 9}, now=0)
    watch.observe({P0: 5, P1: 7}, {P0: 5, P1: 12}, now=59)
    with pytest.raises(WorkerStalled, match=r"tanqory\.catalog\.events\[1\]: 5"):
        watch.observe({P0: 5, P1: 7}, {P0: 5, P1: 12}, now=60)


def test_a_position_that_moves_starts_the_count_again() -> None:
    watch = StallWatch(limit=60)
    watch.observe({P0: 5}, {P0: 100}, now=0)
    watch.observe({P0: 6}, {P0: 100}, now=50)  # a slow handler, still reading
    watch.observe({P0: 6}, {P0: 100}, now=100)
    with pytest.raises(WorkerStalled):
        watch.observe({P0: 6}, {P0: 100}, now=110)


def test_a_caught_up_worker_is_never_stalled() -> None:
    watch = StallWatch(limit=60)
    for now in range(0, 1000, 30):
        watch.observe({P0: 5, P1: 7}, {P0: 5, P1: 7}, now=now)


def test_a_backlog_counts_from_when_it_is_first_seen() -> None:
    watch = StallWatch(limit=60)
    watch.observe({P0: 5}, {P0: 5}, now=0)
    watch.observe({P0: 5}, {P0: 8}, now=100)  # records arrived: not stalled yet
    watch.observe({P0: 5}, {P0: 8}, now=159)
    with pytest.raises(WorkerStalled):
        watch.observe({P0: 5}, {P0: 8}, now=160)


def test_a_failed_look_counts_afresh() -> None:
    """The broker away, or a rebalance: what was seen before says nothing about since."""
    watch = StallWatch(limit=60)
    watch.observe({P0: 5}, {P0: 8}, now=0)
    watch.unknown()
    watch.observe({P0: 5}, {P0: 8}, now=100)
    watch.observe({P0: 5}, {P0: 8}, now=159)
    with pytest.raises(WorkerStalled):
        watch.observe({P0: 5}, {P0: 8}, now=160)


def test_a_new_assignment_is_not_a_position_that_stood_still() -> None:
    watch = StallWatch(limit=60)
    watch.observe({P0: 5}, {P0: 8}, now=0)
    watch.observe({P1: 3}, {P1: 8}, now=100)  # the group gave this worker another partition
    watch.observe({P1: 3}, {P1: 8}, now=159)
    with pytest.raises(WorkerStalled):
        watch.observe({P1: 3}, {P1: 8}, now=160)
