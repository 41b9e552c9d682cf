"""The reservation race's contenders: threads released together, each reserving one unit
for its own order. Also the target of a spawned OS process, hence a module of its own."""

import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Barrier as ProcessBarrier
from uuid import UUID

from commands.inventory.application import InventoryApplication
from schemas.envelope import Actor, EventMetadata

META = EventMetadata(correlation_id="race", causation_id="race",
                     actor=Actor(subject="order-saga", roles=("service",)))


def reserve_together(app: InventoryApplication, product_id: UUID, order_ids: list[UUID],
                     timeout: float, before_start: Callable[[], None] | None = None
                     ) -> list[Exception]:
    """Starts one thread per order, releases them together (once `before_start` returns,
    if given), reserves 1 unit each; returns what went wrong, if anything, within
    `timeout` seconds."""
    errors: list[Exception] = []
    start = threading.Barrier(len(order_ids), action=before_start, timeout=timeout)

    def reserve(order_id: UUID) -> None:
        try:
            start.wait()
            app.reserve_stock(product_id, order_id, 1, META)
        except Exception as error:  # noqa: BLE001 -- the test fails on any, and shows it
            errors.append(error)

    threads = [threading.Thread(target=reserve, args=(o,), daemon=True) for o in order_ids]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        errors.append(TimeoutError(f"{stuck} reservations still running after {timeout} s"))
    return errors


def run_process(env: dict[str, str], product_id: UUID, order_ids: list[UUID],
                processes: ProcessBarrier, timeout: float) -> None:
    """One contending process: its threads start once every process's threads are ready.
    Exits with a message (status 1) if any reservation failed.

    `env` should say CREATE_TABLE=n, the tables being there already: eventsourcing's
    PostgreSQL recorder runs its CREATE statements at every start, and two processes
    running `CREATE OR REPLACE FUNCTION` at once fail with "tuple concurrently updated".
    """
    try:
        app = InventoryApplication(env=env)
    except BaseException:
        processes.abort()  # the other processes fail now, not at the barrier's timeout
        raise

    def with_the_other_processes() -> None:
        processes.wait(timeout)

    try:
        errors = reserve_together(app, product_id, order_ids, timeout,
                                  before_start=with_the_other_processes)
    finally:
        app.close()
    if errors:
        raise SystemExit(f"{len(errors)} of {len(order_ids)} reservations failed: {errors!r}")
