"""Tests for the Self-Instruct instruction filters."""
from __future__ import annotations

import pytest

from selfinstruct.filters import (
    ALPACA_KEYWORDS,
    DEFAULT_INSTRUCTION_FILTER,
    SELF_INSTRUCT_KEYWORDS,
    InstructionFilter,
    InstructionFilterConfig,
    check_instruction,
)


def words(n: int) -> str:
    return " ".join(["word"] * n)


def test_keyword_lists() -> None:
    assert "go to" in SELF_INSTRUCT_KEYWORDS and len(SELF_INSTRUCT_KEYWORDS) == 13
    assert ALPACA_KEYWORDS[: len(SELF_INSTRUCT_KEYWORDS)] == SELF_INSTRUCT_KEYWORDS
    assert set(ALPACA_KEYWORDS) - set(SELF_INSTRUCT_KEYWORDS) == {"video", "audio", "music", "flowchart", "diagram"}
    assert DEFAULT_INSTRUCTION_FILTER.blocked_keywords == SELF_INSTRUCT_KEYWORDS


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("Summarize this text.", "too_short"),
        ("Describe the picture below in detail.", "blocked_keyword"),
        ("Write a program that sorts a list of numbers.", "blocked_prefix"),
        ("write A PROGRAM that prints hello world.", "blocked_prefix"),
        ("- Give three tips for staying healthy.", "starts_with_punctuation"),
        ('"Explain how rainbows form in simple words."', "starts_with_punctuation"),
        ("¿Cómo se dice hello en inglés, por favor?", "non_ascii_start"),
        ("Give three tips for staying healthy.", None),
    ],
)
def test_each_reason(text: str, reason: str | None) -> None:
    assert check_instruction(text) == reason


def test_word_count_boundaries() -> None:
    assert check_instruction(words(3)) == "too_short"
    assert check_instruction(words(4)) is None
    assert check_instruction(words(150)) is None
    assert check_instruction(words(151)) == "too_long"
    # Any whitespace separates words; surrounding whitespace does not count.
    assert check_instruction("  word\tword\nword  word ") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Explain the mapping between keys and values.", None),
        ("Find the best map for a hiking trip.", "blocked_keyword"),
        ("Find the best MAP for a hiking trip.", "blocked_keyword"),
        ("Go to the store and list what to buy.", "blocked_keyword"),
        ("Tell me where to go  to relax this weekend.", "blocked_keyword"),
        ("Explain why people go together to concerts.", None),
        ("Name some famous graphic designers from Italy.", None),
        ("Compare the two files (A and B) line by line.", "blocked_keyword"),
        ("Describe a profile of a typical reader.", None),
    ],
)
def test_whole_word_keywords(text: str, reason: str | None) -> None:
    assert check_instruction(text) == reason


def test_alpaca_keywords_and_custom_lists() -> None:
    text = "Suggest a video about cooking pasta at home."
    assert check_instruction(text) is None
    assert check_instruction(text, InstructionFilterConfig(blocked_keywords=ALPACA_KEYWORDS)) == "blocked_keyword"
    open_config = InstructionFilterConfig(blocked_keywords=(), blocked_prefixes=())
    assert check_instruction("Write a program to plot an image.", open_config) is None


def test_language_option() -> None:
    text = "Érdekes tények a magyar nyelvről, kérem."
    assert check_instruction(text) == "non_ascii_start"
    assert check_instruction(text, InstructionFilterConfig(language="any")) is None
    # Non-ASCII later in the text is fine in either mode.
    assert check_instruction("Translate 'café au lait' into English please.") is None
    # Punctuation is still dropped with language="any".
    assert check_instruction("«Explain this French quote to me»", InstructionFilterConfig(language="any")) is None
    assert check_instruction("(Explain this French quote to me)", InstructionFilterConfig(language="any")) == (
        "starts_with_punctuation"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_words": 0}, "min_words=0"),
        ({"min_words": 5, "max_words": 4}, "max_words=4"),
        ({"language": "french"}, "language='french'"),
    ],
)
def test_config_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        InstructionFilterConfig(**kwargs)  # type: ignore[arg-type]
    assert "use " in str(info.value)


def test_custom_word_limits() -> None:
    config = InstructionFilterConfig(min_words=1, max_words=2)
    assert check_instruction("Hello", config) is None
    assert check_instruction("Hello there friend", config) == "too_long"


def test_type_error() -> None:
    with pytest.raises(TypeError, match="bytes"):
        check_instruction(b"Give three tips for staying healthy.")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        InstructionFilter()(None)  # type: ignore[arg-type]


def test_filter_counts_reasons() -> None:
    keep = InstructionFilter()
    texts = [
        "Give three tips for staying healthy.",
        "Name three rivers in Africa.",
        "Too short.",
        "Draw a cat on a sunny windowsill.",
        "",
    ]
    kept = [text for text in texts if keep(text)]
    assert kept == texts[:2]
    assert keep.counts == {"kept": 2, "dropped_too_short": 1, "dropped_blocked_keyword": 1, "dropped_empty": 1}


def test_keyword_and_prefix_lists_are_normalized() -> None:
    config = InstructionFilterConfig(blocked_keywords=["cat"], blocked_prefixes=["tell me"])  # type: ignore[arg-type]
    assert config.blocked_keywords == ("cat",) and config.blocked_prefixes == ("tell me",)
    assert check_instruction("Describe a cat in four words.", config) == "blocked_keyword"
    assert check_instruction("Tell me a joke about dogs.", config) == "blocked_prefix"
    with pytest.raises(TypeError, match="single string"):
        InstructionFilterConfig(blocked_keywords="image")  # type: ignore[arg-type]
