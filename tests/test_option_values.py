"""option_values: a flag's escapes decoded without touching any other character."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.pipeline.option_values import unescape_flag_text

no_backslash = st.text(alphabet=st.characters(blacklist_characters="\\", blacklist_categories=("Cs",)))


@given(no_backslash, no_backslash)
def test_escapes_are_decoded_and_other_characters_kept(before: str, after: str) -> None:
    assert unescape_flag_text(before) == before
    assert unescape_flag_text(before + "\\n" + after + "\\t") == before + "\n" + after + "\t"


@pytest.mark.parametrize("typed, meant", [
    ("。\\n", "。\n"), ("café\\n\\n", "café\n\n"), ("\\\\n", "\\n"), ("\\x41\\u00e9\\U0001F642", "Aé🙂"),
    ("\\N{BULLET}", "•"), ("\\q", "\\q"),
])
def test_examples(typed: str, meant: str) -> None:
    assert unescape_flag_text(typed) == meant


def test_a_bad_escape_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        unescape_flag_text("\\N{NO SUCH CHARACTER}")
