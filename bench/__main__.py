"""`python -m bench`: run every benchmark; a table first, then one line per figure.

Needs the real services (`scripts/services.sh up`, then `eval "$(scripts/services.sh env)"`);
each benchmark works in fresh databases and topics of its own and drops them after.
"""

import argparse
import importlib
from collections.abc import Sequence

from bench.timing import Result, Scale

# Module names under bench/, each with `run(scale: Scale) -> list[Result]`.
BENCHMARKS = ("command_write", "reserve", "relay", "projection", "analytics_sink",
              "archive_check", "read_by_id", "end_to_end", "rebuild", "rebuild_stores", "place_order",
              "order_flow", "login", "scale", "sustained")
SMOKE = Scale(n=20, rounds=1)  # --smoke


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--n", type=int, default=2_000, help="items per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of ours (A/B/A)")
    parser.add_argument("--smoke", action="store_true", help="tiny volume: does each one run?")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="repeatable")
    args = parser.parse_args(argv)
    scale = SMOKE if args.smoke else Scale(n=args.n, rounds=args.rounds)
    results: list[Result] = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        results += module.run(scale)
    print(f"{'figure':<34}{'ours/s':>12}{'baseline/s':>14}{'ratio':>8}")
    for result in results:
        print(result.row())
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
