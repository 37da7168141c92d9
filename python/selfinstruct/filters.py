"""Instruction filters of Self-Instruct step 4 (heuristic clean-up before the novelty check).

An instruction is dropped when it is empty, has fewer than `min_words` or more than `max_words`
whitespace-separated words, mentions a blocked keyword as a whole word (a text-only model cannot
act on images, files or plots), starts with a blocked prefix ("Write a program"), starts with
punctuation, or, for `language="english"`, starts with a non-ASCII character (the reference
code's only language check). The checks run in that order and the first failing one is reported.
"""
from __future__ import annotations

import collections
import re
import string
from dataclasses import dataclass
from functools import lru_cache

SELF_INSTRUCT_KEYWORDS: tuple[str, ...] = (
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files",
    "map", "maps", "draw", "plot", "go to",
)
ALPACA_KEYWORDS: tuple[str, ...] = SELF_INSTRUCT_KEYWORDS + (
    "video", "audio", "music", "flowchart", "diagram",
)
LANGUAGES: tuple[str, ...] = ("english", "any")
DROP_REASONS: tuple[str, ...] = (
    "empty", "too_short", "too_long", "blocked_keyword", "blocked_prefix",
    "starts_with_punctuation", "non_ascii_start",
)


@dataclass(frozen=True)
class InstructionFilterConfig:
    """Settings of the instruction filters; the defaults are the Self-Instruct reference's."""

    min_words: int = 4
    max_words: int = 150
    blocked_keywords: tuple[str, ...] = SELF_INSTRUCT_KEYWORDS
    blocked_prefixes: tuple[str, ...] = ("write a program",)
    language: str = "english"

    def __post_init__(self) -> None:
        for name in ("blocked_keywords", "blocked_prefixes"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name}={value!r} is a single string: pass a tuple, e.g. ({value!r},)")
            object.__setattr__(self, name, tuple(value))  # lists work too, and the config stays hashable
        if self.min_words < 1:
            raise ValueError(f"min_words={self.min_words} is below 1: use min_words >= 1")
        if self.max_words < self.min_words:
            raise ValueError(
                f"max_words={self.max_words} is below min_words={self.min_words}: "
                f"use max_words >= {self.min_words}"
            )
        if self.language not in LANGUAGES:
            raise ValueError(f"language={self.language!r} is unknown: use one of {LANGUAGES}")


DEFAULT_INSTRUCTION_FILTER = InstructionFilterConfig()


@lru_cache(maxsize=32)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive regex matching any keyword as a whole word (phrases allow any spacing)."""
    alternatives = [r"\s+".join(map(re.escape, word.split())) for word in keywords if word.strip()]
    if not alternatives:
        return None
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


class _Rules:
    """The checks of one InstructionFilterConfig, prepared once (the filter runs per candidate)."""

    def __init__(self, config: InstructionFilterConfig) -> None:
        self.min_words = config.min_words
        self.max_words = config.max_words
        self.pattern = _keyword_pattern(config.blocked_keywords)
        # The regex can match an ASCII text only where the text, lowered, contains a keyword's first
        # word lowered (ASCII case folding is all IGNORECASE does there); most texts contain none, and
        # a case-sensitive search for those literals costs a fraction of the regex's. Non-ASCII keywords
        # could match ASCII letters under IGNORECASE (the Kelvin sign matches "k"): with one, the regex
        # always runs.
        words = [word.split()[0].lower() for word in config.blocked_keywords if word.strip()]
        self.ascii_words: re.Pattern[str] | None = None
        if words and all(map(str.isascii, words)):
            self.ascii_words = re.compile("|".join(map(re.escape, dict.fromkeys(words))))
        self.prefixes = tuple(prefix.lower() for prefix in config.blocked_prefixes if prefix)
        self.english = config.language == "english"

    def check(self, text: str) -> str | None:
        stripped = text.strip()
        if not stripped:
            return "empty"
        words = len(stripped.split())
        if words < self.min_words:
            return "too_short"
        if words > self.max_words:
            return "too_long"
        lowered = stripped.lower()
        if self.pattern is not None and (
            self.ascii_words is None or not stripped.isascii() or self.ascii_words.search(lowered)
        ) and self.pattern.search(stripped):
            return "blocked_keyword"
        if self.prefixes and lowered.startswith(self.prefixes):
            return "blocked_prefix"
        if stripped[0] in string.punctuation:
            return "starts_with_punctuation"
        if self.english and not stripped[0].isascii():
            return "non_ascii_start"
        return None


@lru_cache(maxsize=32)
def _rules(config: InstructionFilterConfig) -> _Rules:
    return _Rules(config)


def check_instruction(text: str, config: InstructionFilterConfig = DEFAULT_INSTRUCTION_FILTER) -> str | None:
    """Return None to keep `text`, else the reason to drop it (one of DROP_REASONS)."""
    if not isinstance(text, str):
        raise TypeError(f"instruction must be str, got {type(text).__name__}")
    return _rules(config).check(text)


class InstructionFilter:
    """A datatrove-style filter step: call it on a text to keep (True) or drop it, reasons counted."""

    def __init__(self, config: InstructionFilterConfig = DEFAULT_INSTRUCTION_FILTER) -> None:
        self.config = config
        self.counts: collections.Counter[str] = collections.Counter()
        self._rules = _rules(config)

    def __call__(self, text: str) -> bool:
        return self.check(text) is None

    def check(self, text: str) -> str | None:
        """Like `check_instruction` with this filter's settings, counting the outcome."""
        if not isinstance(text, str):
            raise TypeError(f"instruction must be str, got {type(text).__name__}")
        reason = self._rules.check(text)
        self.counts["kept" if reason is None else f"dropped_{reason}"] += 1
        return reason
