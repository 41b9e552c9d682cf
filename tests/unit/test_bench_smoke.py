"""A smoke run of the benchmarks with a tiny volume: they run and print their ratio lines."""

from bench import command_write


def test_command_write_benchmark_measures_both_sides() -> None:
    figure = command_write.run(20)
    assert figure.ours_per_second > 0 and figure.baseline_per_second > 0
    assert figure.line().startswith("command write (sqlite): ours ")
