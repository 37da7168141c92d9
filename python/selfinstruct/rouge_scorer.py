"""A drop-in replacement for rouge-score 0.1.2's RougeScorer, computed in the compiled core.

`RougeScorer(types, use_stemmer, split_summaries).score(target, prediction)` returns the same
floats (compared with ==) as `rouge_score.rouge_scorer.RougeScorer` for rouge1 .. rouge9, rougeL
and rougeLsum with its default tokenizer, with or without the Porter stemmer. The stemmer is
NLTK's `PorterStemmer()` (see selfinstruct.stemming), applied once per distinct token and
cached. `score_batch` scores many pairs on several threads. `tokenizer="unicode"` is our option
for non-English text; its scores are not reference scores.
"""
from __future__ import annotations

from typing import Callable, Iterable, NamedTuple, Optional, Sequence

import numpy as np
import numpy.typing as npt

from . import _core
from .rouge import _threads, tokenizer_mode
from .stemming import EVAL_HINT, porter_stemmer
from .unicode_tokenizer import unicode_pretokenize

ROUGE_TYPES = tuple(f"rouge{n}" for n in range(1, 10)) + ("rougeL", "rougeLsum")


class Score(NamedTuple):
    """Precision, recall and F-measure; equal (==) to rouge_score.scoring.Score with the same values."""

    precision: float
    recall: float
    fmeasure: float


def _sentence_splitter() -> Callable[[str], list[str]]:
    try:
        import nltk
    except ImportError:
        raise ImportError(f"split_summaries=True needs NLTK's sentence splitter: {EVAL_HINT}") from None
    try:
        nltk.sent_tokenize("A first sentence. A second one.")
    except LookupError:
        raise LookupError(
            "split_summaries=True splits sentences with NLTK's Punkt model (nltk.sent_tokenize, as rouge-score "
            "does), and its data is not installed. Install it once with `python -m nltk.downloader punkt_tab` "
            "(`punkt` for NLTK older than 3.8.2) or point NLTK_DATA at a folder that has it."
        ) from None
    return nltk.sent_tokenize


def _check_text(text: object, name: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be str, not {type(text).__name__}")
    return text


def _check_texts(texts: object, name: str) -> Sequence[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, not a single {type(texts).__name__}")
    if not isinstance(texts, Sequence):
        try:
            texts = list(texts)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(f"{name} must be a sequence of str, not {type(texts).__name__}") from None
    for index, text in enumerate(texts):
        _check_text(text, f"{name}[{index}]")
    return texts


class RougeScorer:
    """ROUGE-N, ROUGE-L and ROUGE-Lsum scores with rouge-score 0.1.2's API and floats.

    rouge_types: names among rouge1 .. rouge9, rougeL, rougeLsum (rougeLsum: summary-level LCS
    over the newline-separated sentences). use_stemmer: Porter-stem tokens longer than 3
    characters (needs NLTK). split_summaries: split rougeLsum sentences with nltk.sent_tokenize
    instead of at newlines (needs NLTK and its Punkt data). tokenizer: "rouge" (rouge-score's
    default tokenizer, reference scores) or "unicode" (ours, for non-English text).
    """

    def __init__(
        self,
        rouge_types: Iterable[str],
        use_stemmer: bool = False,
        split_summaries: bool = False,
        tokenizer: Optional[str] = "rouge",
    ) -> None:
        if isinstance(rouge_types, (str, bytes)):
            raise TypeError(f"rouge_types must be a list of names such as ['rouge1', 'rougeL'], not {rouge_types!r}")
        try:
            self.rouge_types = list(rouge_types)
        except TypeError:
            raise TypeError(f"rouge_types must be a list of names such as ['rouge1', 'rougeL'], not {rouge_types!r}") from None
        for name in self.rouge_types:
            if name not in ROUGE_TYPES:
                raise ValueError(f"unknown rouge type {name!r}: use rouge1 .. rouge9, rougeL or rougeLsum")
        for flag, value in (("use_stemmer", use_stemmer), ("split_summaries", split_summaries)):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be True or False, not {value!r}")
        if tokenizer is None:
            tokenizer = "rouge"
        if not isinstance(tokenizer, str):
            raise TypeError(f"tokenizer must be 'rouge' or 'unicode' (tokenizer objects are not supported), not {tokenizer!r}")
        self._mode = tokenizer_mode(tokenizer)
        self.tokenizer = tokenizer
        self.use_stemmer = use_stemmer
        self.split_summaries = split_summaries
        self._names = list(dict.fromkeys(self.rouge_types))
        self._index = {name: k for k, name in enumerate(self._names)}
        self._summaries = "rougeLsum" in self._index
        self._split = _sentence_splitter() if split_summaries and self._summaries else None
        self._core = _core.RougeFamily(self._names, self._mode, porter_stemmer(self._mode) if use_stemmer else None)

    def _prepared(self, text: str) -> tuple[str, Optional[list[str]]]:
        """The text as the core reads it, and its rougeLsum sentences when not simply its lines."""
        if self._mode == 0 and self._split is None:
            return text, None  # the core splits at '\n' itself
        sentences = None
        if self._summaries:
            sentences = [s for s in (self._split(text) if self._split else text.split("\n")) if s]
        if self._mode == 1:
            text = unicode_pretokenize(text)
            sentences = None if sentences is None else [unicode_pretokenize(s) for s in sentences]
        return text, sentences

    def _prepared_all(self, texts: Sequence[str], name: str) -> tuple[Sequence[str], Optional[list[list[str]]]]:
        if self._mode == 0 and self._split is None:
            return texts, None  # the core checks the items
        texts = _check_texts(texts, name)
        pairs = [self._prepared(text) for text in texts]
        sentences = [s for _, s in pairs] if self._summaries else None
        return [t for t, _ in pairs], sentences  # type: ignore[return-value]

    def score(self, target: str, prediction: str) -> dict[str, Score]:
        """Scores of `prediction` against `target` (the reference), one Score per rouge type."""
        t_text, t_sentences = self._prepared(_check_text(target, "target"))
        p_text, p_sentences = self._prepared(_check_text(prediction, "prediction"))
        values = self._core.score(t_text, p_text, t_sentences, p_sentences)
        return {name: Score(*values[self._index[name]]) for name in self.rouge_types}

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Score]:
        """Per rouge type, the score against the target with the highest F (the first one on ties)."""
        targets = _check_texts(targets, "targets")
        if len(targets) == 0:
            raise ValueError("score_multi needs at least one target")
        _check_text(prediction, "prediction")
        scores = self._scores(targets, [prediction] * len(targets), threads=1)
        best = {}
        for name in self.rouge_types:
            k = self._index[name]
            j = int(np.argmax(scores[k, 2]))
            best[name] = Score(*(float(v) for v in scores[k, :, j]))
        return best

    def score_batch(
        self, targets: Sequence[str], predictions: Sequence[str], threads: Optional[int] = None
    ) -> dict[str, dict[str, npt.NDArray[np.float64]]]:
        """Scores of predictions[i] against targets[i] for every i, on `threads` threads (None: all cores).

        Returns {rouge type: {"precision": array, "recall": array, "fmeasure": array}}, each
        array of float64 with one entry per pair, equal to what score() gives pair by pair.
        """
        scores = self._scores(targets, predictions, _threads(threads))
        return {
            name: {
                field: scores[self._index[name], c].copy() for c, field in enumerate(("precision", "recall", "fmeasure"))
            }
            for name in self.rouge_types
        }

    def _scores(self, targets: Sequence[str], predictions: Sequence[str], threads: int) -> npt.NDArray[np.float64]:
        t_texts, t_sentences = self._prepared_all(targets, "targets")
        p_texts, p_sentences = self._prepared_all(predictions, "predictions")
        return self._core.score_pairs(t_texts, p_texts, threads, t_sentences, p_sentences)

    @property
    def cached_stems(self) -> int:
        """How many distinct tokens have been stemmed (and cached) so far."""
        return self._core.cached_stems
