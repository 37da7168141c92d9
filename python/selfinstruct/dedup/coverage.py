"""Warn when many inputs have (almost) no tokens for the chosen tokenizer.

The reference tokenizer keeps only [a-z0-9] runs, so Chinese, Japanese, Thai or Arabic text has
no tokens, or only a stray digit or Latin word: two such texts then score 0, or 1.0 on one shared
token, and deduplication either keeps everything or drops unrelated texts. The check tokenizes an
evenly spaced sample, so it costs milliseconds on any input.
"""
from __future__ import annotations

from typing import Sequence

from ..rouge import tokenize

SAMPLE = 5_000
FEW_TOKENS = 1  # texts with at most this many tokens count as (almost) empty
WARN_FRACTION = 0.05


def few_token_share(texts: Sequence[str], tokenizer: str, sample: int = SAMPLE) -> tuple[float, int]:
    """(share of sampled texts with <= FEW_TOKENS tokens, sample size)."""
    if not texts:
        return 0.0, 0
    step = max(1, len(texts) // sample)
    sampled = texts[::step]
    few = sum(len(tokenize(text, tokenizer)) <= FEW_TOKENS for text in sampled)
    return few / len(sampled), len(sampled)


def few_token_warning(texts: Sequence[str], rejected: Sequence[str], tokenizer: str) -> str | None:
    """A warning for the user, or None, given all input texts and the rejected ones."""
    share, sampled = few_token_share(texts, tokenizer)
    if share <= WARN_FRACTION:
        return None
    few_rejected = sum(len(tokenize(text, tokenizer)) <= FEW_TOKENS for text in rejected)
    sample_note = "" if sampled == len(texts) else f" (a sample of {sampled:,})"
    advice = (
        "use --tokenizer unicode (words of every script, and one token per character for Chinese, Japanese, Thai, ...)"
        if tokenizer == "rouge"
        else "ROUGE-L cannot tell such texts apart"
    )
    return (
        f"{share:.0%} of the inputs{sample_note} have at most {FEW_TOKENS} {tokenizer} token(s) (text in scripts "
        f"other than Latin letters and digits has none): between such texts ROUGE-L is 0, or 1.0 on a single "
        f"shared token; {few_rejected:,} of the {len(rejected):,} rejected texts have at most {FEW_TOKENS} token(s). "
        f"For such data {advice}."
    )
