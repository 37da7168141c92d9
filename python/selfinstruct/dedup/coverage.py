"""Warn when many inputs have (almost) no tokens for the chosen tokenizer.

The reference tokenizer keeps only [a-z0-9] runs, so Chinese, Japanese, Thai or Arabic text has
no tokens, or only a stray digit or Latin word: two such texts then score 0, or 1.0 on one shared
token, and deduplication either keeps everything or drops unrelated texts. The check tokenizes an
evenly spaced sample (taken as the input streams by), so it costs milliseconds on any input.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from ..rouge import tokenize

SAMPLE = 5_000
FEW_TOKENS = 1  # texts with at most this many tokens count as (almost) empty
WARN_FRACTION = 0.05


class StreamSample:
    """An evenly spaced sample of a stream whose length is not known in advance.

    Keeps every `step`-th text; when 2 * `size` are held, every other one is dropped and the step
    doubles, so between `size` and 2 * `size` texts remain (all of them for a shorter stream).
    """

    def __init__(self, size: int = SAMPLE) -> None:
        self.size = size
        self.step = 1
        self.texts: list[str] = []
        self.seen = 0

    def extend(self, texts: Sequence[str]) -> None:
        self.texts += texts[(-self.seen) % self.step :: self.step]
        self.seen += len(texts)
        while len(self.texts) >= 2 * self.size:
            self.texts = self.texts[::2]  # the first text is stream position 0, so these are multiples of 2 * step
            self.step *= 2


def few_token_share(texts: Sequence[str], tokenizer: str) -> float:
    """The share of `texts` with <= FEW_TOKENS tokens."""
    if not texts:
        return 0.0
    return sum(len(tokenize(text, tokenizer)) <= FEW_TOKENS for text in texts) / len(texts)


def few_token_warning(sample: StreamSample, rejected: Callable[[], Iterable[str]], tokenizer: str) -> str | None:
    """A warning for the user, or None, given a sample of all input texts and (called only to word
    a warning) the rejected texts."""
    share = few_token_share(sample.texts, tokenizer)
    if share <= WARN_FRACTION:
        return None
    few_rejected = total_rejected = 0
    for text in rejected():
        few_rejected += len(tokenize(text, tokenizer)) <= FEW_TOKENS
        total_rejected += 1
    sample_note = "" if sample.step == 1 else f" (a sample of {len(sample.texts):,})"
    advice = (
        "use --tokenizer unicode (words of every script, and one token per character for Chinese, Japanese, Thai, ...)"
        if tokenizer == "rouge"
        else "ROUGE-L cannot tell such texts apart"
    )
    return (
        f"{share:.0%} of the inputs{sample_note} have at most {FEW_TOKENS} {tokenizer} token(s) (text in scripts "
        f"other than Latin letters and digits has none): between such texts ROUGE-L is 0, or 1.0 on a single "
        f"shared token; {few_rejected:,} of the {total_rejected:,} rejected texts have at most {FEW_TOKENS} token(s). "
        f"For such data {advice}."
    )
