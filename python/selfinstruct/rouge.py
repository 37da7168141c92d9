"""Exact ROUGE-L scoring: the same floats as rouge-score 0.1.2 (default tokenizer, no stemmer).

`tokenizer="rouge"` (the default) reproduces rouge-score bit for bit. `tokenizer="unicode"` is our
own option for non-English text (see selfinstruct.unicode_tokenizer); its scores are not
reference scores.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt

from . import _core
from .unicode_tokenizer import unicode_pretokenize, unicode_tokens

TOKENIZERS = ("rouge", "unicode")
MAX_THREADS = 1024  # far above any core count; per-thread scratch memory makes more pointless


def tokenizer_mode(tokenizer: str) -> int:
    """The compiled core's mode number for a tokenizer name."""
    if tokenizer == "rouge":
        return 0
    if tokenizer == "unicode":
        return 1
    raise ValueError(f"unknown tokenizer {tokenizer!r}: use 'rouge' (reference) or 'unicode'")


def prepare_texts(texts: Sequence[str], tokenizer: str, name: str = "texts") -> Sequence[str]:
    """Texts as the core reads them: unchanged for "rouge", pre-tokenized for "unicode"."""
    if tokenizer_mode(tokenizer) == 0:
        return texts
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, not a single {type(texts).__name__}")
    out = []
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{index}] must be str, not {type(text).__name__}")
        try:
            out.append(unicode_pretokenize(text))
        except ValueError as error:
            raise ValueError(f"{name}[{index}]: {error}") from None
    return out


def _threads(threads: int | None) -> int:
    if threads is None or threads == -1:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be an int in [1, {MAX_THREADS}], -1 or None (all cores), got {threads!r}")
    return threads


def tokenize(text: str, tokenizer: str = "rouge") -> list[str]:
    """The tokens ROUGE-L compares: rouge-score's for "rouge", ours for "unicode"."""
    if tokenizer_mode(tokenizer) == 1:
        return unicode_tokens(text)
    return _core.tokenize(text, 0)


def rouge_l(a: str, b: str, tokenizer: str = "rouge") -> float:
    """ROUGE-L F-measure of two texts (symmetric; rouge-score's float for the default tokenizer)."""
    mode = tokenizer_mode(tokenizer)
    if mode == 1:
        if not isinstance(a, str) or not isinstance(b, str):
            bad = a if not isinstance(a, str) else b
            raise TypeError(f"texts must be str, not {type(bad).__name__}")
        a, b = unicode_pretokenize(a), unicode_pretokenize(b)
    return _core.score(a, b, mode)


def cdist(
    queries: Sequence[str], choices: Sequence[str], *, tokenizer: str = "rouge", threads: int | None = None
) -> npt.NDArray[np.float64]:
    """ROUGE-L F of every (query, choice) pair as a len(queries) x len(choices) float64 matrix."""
    mode = tokenizer_mode(tokenizer)
    return _core.cdist(
        prepare_texts(queries, tokenizer, "queries"), prepare_texts(choices, tokenizer, "choices"), mode, _threads(threads)
    )


def max_scores(
    queries: Sequence[str], choices: Sequence[str], *, tokenizer: str = "rouge", threads: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """For each query: its highest F over the choices and the first choice index reaching it (-1 if no choices)."""
    mode = tokenizer_mode(tokenizer)
    return _core.max_scores(
        prepare_texts(queries, tokenizer, "queries"), prepare_texts(choices, tokenizer, "choices"), mode, _threads(threads)
    )


def top_k(
    queries: Sequence[str],
    choices: Sequence[str],
    k: int = 10,
    *,
    tokenizer: str = "rouge",
    threads: int | None = None,
) -> list[list[tuple[int, float]]]:
    """For each query, its k most similar choices as (index, F), best first, ties by lower index."""
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative int, got {k!r}")
    mode = tokenizer_mode(tokenizer)
    return _core.top_k(
        prepare_texts(queries, tokenizer, "queries"),
        prepare_texts(choices, tokenizer, "choices"),
        k,
        mode,
        _threads(threads),
    )
