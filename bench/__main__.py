"""`python -m bench [N]`: run every benchmark; the ratio lines come last."""

import sys

from bench import command_write


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    figures = [command_write.run(n)]
    print(f"{'figure':<28}{'ours/s':>12}{'baseline/s':>14}{'ratio':>8}")
    for f in figures:
        print(f"{f.name:<28}{f.ours_per_second:>12,.0f}{f.baseline_per_second:>14,.0f}"
              f"{f.ratio:>8.2f}")
    for f in figures:
        print(f.line())


if __name__ == "__main__":
    main()
