"""The optional Unicode-aware tokenizer (not rouge-score's).

rouge-score keeps only ASCII [a-z0-9] runs, so text in Chinese, Thai, Arabic, Greek ... has no
tokens and always scores 0: the reference never deduplicates it. This tokenizer normalises with
NFKC and casefold, keeps runs of Unicode letters, marks and digits as words, and makes every
character of scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar)
a token of its own. Scores computed with it are ROUGE-L over these tokens, not reference scores.
"""
from __future__ import annotations

import re
import unicodedata

# Scripts without spaces between words: one token per character.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(rf"[{_UNSPACED}]|(?:(?![{_UNSPACED}])[^\W_])+")


def unicode_tokens(text: str) -> list[str]:
    """Tokens of `text` under the Unicode-aware tokenizer."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if _SURROGATE.search(text):
        raise ValueError("text is not valid Unicode (it contains a lone surrogate) and cannot be tokenized")
    normalised = unicodedata.normalize("NFKC", text).casefold()
    return _TOKEN.findall(normalised)


def unicode_pretokenize(text: str) -> str:
    """The tokens joined by single spaces: the form the compiled core reads in "split" mode."""
    return " ".join(unicode_tokens(text))
