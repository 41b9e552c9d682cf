"""Text constraints the contracts share."""

from pydantic import StringConstraints

CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # C0 controls but tab, LF and CR; and DEL


def one_line(max_length: int, min_length: int = 0) -> StringConstraints:
    """One line of text, surrounding whitespace stripped: no control characters, no tab and
    no line breaks (no store, log or terminal has to cope with them)."""
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length,
        pattern=rf"^[^{CONTROL_CHARACTERS}\t\n\r]*$",
    )
