"""`tanqory history --format table` shows one line an event, whatever its text holds: a
terminal acts on control characters and breaks lines at U+0085, U+2028 and U+2029."""

import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tanqory.history_formats import Readable

ACTED_ON = ["\n", "\r", "\x1b", "\x07", "\x85", "\u2028", "\u2029", "\t", "\x7f"]
texts = st.lists(st.sampled_from(["a", "✓", "\x1b[2J", *ACTED_ON]), max_size=12).map("".join)


def event(name: str, subject: str) -> dict[str, Any]:
    return {"occurred_at": "2026-11-29T12:00:00Z", "context": "catalog",
            "event_type": "ProductCreated", "aggregate_id": "0" * 36, "aggregate_version": 1,
            "actor": {"subject": subject, "roles": []}, "payload": {"name": name}}


def shown(*events: dict[str, Any]) -> str:
    out = io.StringIO()
    table = Readable(out)
    table.write(list(events))
    table.close()
    return out.getvalue()


@given(st.lists(texts, min_size=1, max_size=4))
def test_each_event_is_one_line_of_text_a_terminal_only_shows(names: list[str]) -> None:
    text = shown(*(event(n, n) for n in names))
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 1 + len(names)
    for character in ACTED_ON:
        assert character not in text.replace("\n", "")


def test_what_a_terminal_would_act_on_is_spelled_out() -> None:
    text = shown(event("Cup\x85for\u2028two\u2029three", "eve\x1b[31m"))
    assert "Cup\\x85for\\u2028two\\u2029three" in text
    assert "eve\\x1b[31m" in text
