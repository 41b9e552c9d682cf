"""The file in which a benchmark's worker process notes its progress for the benchmark."""

from pathlib import Path


def read_marks(path: Path) -> tuple[int, float]:
    """Events handled, and seconds since the first batch arrived (0, 0.0 before any)."""
    try:
        handled, seconds = path.read_text().split()
    except (FileNotFoundError, ValueError):
        return 0, 0.0
    return int(handled), float(seconds)


def write_marks(path: Path, handled: int, seconds: float) -> None:
    """Replaces the file whole, so a reader never sees half of it."""
    scratch = path.with_suffix(".new")
    scratch.write_text(f"{handled} {seconds}")
    scratch.replace(path)
