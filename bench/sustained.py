"""Sustained load: product creates and orders at once, open loop, for a minute, on the
whole server platform (command API, relay, worker, sagas, read API as processes).

Creates go at the end-to-end benchmark's rate (200 a second) and orders at the order-flow
benchmark's (50 a second), each stream on its own fixed schedule and its own keep-alive
connections, for `min(60, n / 20)` seconds (the full minute at the default n of 2,000,
one second with --smoke). Before timing, as the order-flow benchmark does: the platform is
up, its products are stocked and visible, and one order has gone all the way.

Visible means what those two benchmarks watch, from threads of their own: a product once
the worker has projected it (its cache generation moved in Redis, after the document was
written), an order once its document says `awaiting_payment` (every line reserved by the
sagas, then projected). Latencies count from each command's scheduled time: "command ack"
to its acknowledgement, "cmd → visible" to its visibility (targets: p99 within 100 ms
and 250 ms). An answer other than a 201, or a request that fails, is an error: counted,
its first few printed, and the run goes on; a command still not visible a minute after
the last acknowledgement is counted apart (and left out of the latencies). Each platform
process's resident memory is sampled every half second from the first command sent until
the last is visible (or its deadline passed), and the cores each process, each service
and these clients kept busy over that time are printed beside the machine's.
"""

import asyncio
import sys

from bench import end_to_end, order_flow
from bench.http_servers import server_platform
from bench.memory import ProcessSamples, platform_pids, sample_processes
from bench.open_loop import Run, milliseconds
from bench.timing import Absolute, Scale, percentiles
from tests.support.platform import Platform

SECONDS = 60.0
SECONDS_PER_N = 1 / 20
SHOWN_FAILURES = 5


async def measure(platform: Platform, products: list[str], seconds: float,
                  processes: ProcessSamples) -> tuple[Run, Run]:
    """Both streams for `seconds`, watched until every acknowledged command is visible (or
    its deadline passed); the processes sampled all along."""
    creates, orders = Run(strict=False), Run(strict=False)
    done = asyncio.Event()

    async def streams() -> None:
        try:
            await asyncio.gather(
                end_to_end.send(platform, creates, int(end_to_end.RATE * seconds)),
                order_flow.send(platform, products, orders, int(order_flow.RATE * seconds)),
                asyncio.to_thread(end_to_end.watch_products, platform, creates),
                asyncio.to_thread(order_flow.watch_orders, platform, orders))
        finally:
            done.set()

    await asyncio.gather(streams(), sample_processes(platform_pids(platform), processes, done))
    return creates, orders


def stream_results(name: str, run: Run, rate: float, seconds: float) -> list[Absolute]:
    """Its latencies (cmd → visible of those seen in time: the others are counted apart)."""
    sent, acked = run.sent_and_acked(int(rate * seconds))
    seen = {key: run.scheduled[key] for key in run.visible}
    return [
        Absolute(f"sustained {name}: command ack",
                 percentiles(milliseconds(run.acked, run.scheduled), (50, 99)), "ms"),
        *([Absolute(f"sustained {name}: cmd → visible",
                    percentiles(milliseconds(run.visible, seen), (50, 99)), "ms")]
          if seen else []),
        Absolute(f"sustained {name}: send rate", {"target": rate, "sent": sent, "acked": acked},
                 "/s"),
    ]


def results(creates: Run, orders: Run, seconds: float,
            processes: ProcessSamples) -> list[Absolute]:
    return [
        *stream_results("creates", creates, end_to_end.RATE, seconds),
        *stream_results("orders", orders, order_flow.RATE, seconds),
        Absolute("sustained: resolution",
                 {"creates": creates.resolution_ms(end_to_end.POLL_SECONDS),
                  "orders": orders.resolution_ms(order_flow.POLL_SECONDS)}, "ms"),
        Absolute("sustained: errors",
                 {"creates": len(creates.failures), "orders": len(orders.failures)}, "commands"),
        Absolute("sustained: not visible in time",
                 {"creates": len(creates.pending), "orders": len(orders.pending)}, "commands"),
        *processes.figures("sustained"),
        processes.cpu_figure("sustained"),
    ]


def run(scale: Scale) -> list[Absolute]:
    seconds = min(SECONDS, scale.n * SECONDS_PER_N)
    processes = ProcessSamples()
    with server_platform(order_flow.PROCESSES) as platform:
        # each product is on 2 lines of every 10 orders: as many units as orders is plenty
        products = order_flow.stocked_products(platform, int(order_flow.RATE * seconds) + 10)
        order_flow.warm_up(platform, products)
        creates, orders = asyncio.run(measure(platform, products, seconds, processes))
    for failure in (creates.failures + orders.failures)[:SHOWN_FAILURES]:
        print(f"sustained: error: {failure}", file=sys.stderr)
    return results(creates, orders, seconds, processes)
