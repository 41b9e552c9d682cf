"""Search words: the ASCII shortcut finds exactly what accent stripping finds."""

from hypothesis import example, given
from hypothesis import strategies as st

from projections.search import _unaccented_words, words

ascii_text = st.text(st.characters(max_codepoint=127))


@given(ascii_text | st.text())
@example("Café Crème, ÅNGSTRÖM ﬁne Straße")
@example("Stoneware MUG-0000042: 350 ml, dishwasher_safe!")
def test_words_are_those_of_the_accent_stripping_path(text: str) -> None:
    assert words(text) == _unaccented_words(text)


def test_words_are_folded_and_unaccented() -> None:
    assert words("Café Crème") == ["cafe", "creme"]
    assert words("Hand-thrown MUG_01") == ["hand", "thrown", "mug_01"]
