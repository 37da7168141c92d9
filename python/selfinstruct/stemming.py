"""The Porter stemmer RougeScorer uses: NLTK's `PorterStemmer()`, as rouge-score uses it.

The compiled core has its own Porter stemmer (NLTK's default mode, for the lower-case ASCII
tokens of the rouge tokenizer). It is used only after it has given the installed NLTK's stems on a
probe vocabulary built from every suffix the algorithm's rules test; otherwise (another NLTK
version that stems differently, or the unicode tokenizer) NLTK itself is called, once per
distinct token either way.
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, Union

from . import _core

EVAL_HINT = "pip install 'selfinstruct[eval]'"

# Stems of different measures, y's in every role, double consonants, *o endings.
_PROBE_STEMS = (
    "", "b", "y", "ab", "sy", "oy", "tr", "bu", "hop", "fil", "siz", "tann", "fizz", "fall", "rol", "gener",
    "happ", "rel", "cond", "feed", "agre", "plast", "mot", "conflat", "troubl", "controll", "sky", "dy", "yyy",
    "ayy", "bay", "val", "dec", "formal", "sens", "adopt", "effect", "radic", "electr", "hope", "cry",
)
_PROBE_SUFFIXES = (
    "", "s", "ss", "es", "sses", "ies", "ied", "ed", "eed", "ing", "ings", "y", "e", "ll", "at", "bl", "iz", "ly",
    "ational", "tional", "enci", "anci", "izer", "bli", "alli", "entli", "eli", "ousli", "ization", "ation",
    "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "icate",
    "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible", "ant",
    "ement", "ment", "ent", "ion", "sion", "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "ying",
)
_IRREGULAR = ("sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings", "outing",
              "cannings", "canning", "howe", "proceed", "exceed", "succeed")


def probe_vocabulary() -> list[str]:
    """Words that reach every rule of the Porter stemmer (and NLTK's irregular forms)."""
    words = {stem + suffix for stem, suffix in itertools.product(_PROBE_STEMS, _PROBE_SUFFIXES)}
    words.update(_IRREGULAR)
    return sorted(word for word in words if word)


@functools.lru_cache(maxsize=1)
def _compiled_matches_nltk() -> bool:
    stem = _nltk_stem()
    return all(_core.porter_stem(word) == stem(word) for word in probe_vocabulary())


def _nltk_stem() -> Callable[[str], str]:
    try:
        from nltk.stem.porter import PorterStemmer
    except ImportError:
        raise ImportError(f"use_stemmer=True needs NLTK, whose Porter stemmer rouge-score uses: {EVAL_HINT}") from None
    return PorterStemmer().stem  # the default (NLTK_EXTENSIONS) mode, as rouge-score constructs it


def porter_stemmer(tokenizer_mode: int) -> Union[str, Callable[[list[str]], list[str]]]:
    """The stemmer for the core: "porter" (compiled) when it agrees with NLTK, else NLTK's stem over a list."""
    stem = _nltk_stem()
    if tokenizer_mode == 0 and _compiled_matches_nltk():
        return "porter"
    return lambda tokens: [stem(token) for token in tokens]
