"""The cross-lingual track's tokenizer: GPT-2's byte-level BPE with the "Ġ" space marks removed,
loaded from a local folder (nothing is downloaded), and exact ROUGE-L over its tokens."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from .metrics import best_rouge_l


class LocalGPT2Tokenizer:
    """`tokenize(text)` -> the tokenizer's tokens with leading "Ġ" stripped (as the official script does).

    `path` is a local Hugging Face tokenizer folder (GPT-2's for the official numbers).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not Path(path).exists():
            raise FileNotFoundError(f"tokenizer folder {path} not found (give a local copy of the GPT-2 tokenizer)")
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise ImportError("the cross-lingual track needs transformers: pip install 'selfinstruct[embedded]'") from None
        self.path = str(path)
        self._tokenizer: Any = AutoTokenizer.from_pretrained(self.path, local_files_only=True, model_max_length=10**9)

    def tokenize(self, text: str) -> list[str]:
        return [token.lstrip("Ġ") for token in self._tokenizer.tokenize(text)]


def best_rouge_l_pretokenized(predictions: Sequence[str], references: Sequence[Sequence[str]],
                              tokenizer: Any) -> list[float]:
    """Each instance's best ROUGE-L F with `tokenizer.tokenize` as the tokenizer (no stemming).

    Every distinct token becomes one word "t<number>" that rouge-score's default tokenizer keeps
    as it is, so the LCS, the lengths and hence the floats equal rouge-score's with the custom
    tokenizer (empty tokens, which "Ġ" alone leaves, included).
    """
    ids: dict[str, int] = {}

    def encode(text: str) -> str:
        return " ".join(f"t{ids.setdefault(token, len(ids))}" for token in tokenizer.tokenize(text))

    return best_rouge_l([encode(p) for p in predictions], [[encode(r) for r in refs] for refs in references],
                        use_stemmer=False)
