"""The SuperNI metrics: exact match and ROUGE-L, as natural-instructions' eval/automatic/evaluation.py
computes them, float for float.

- exact match: `normalize_answer` of prediction and reference are equal (lower-case, ASCII
  punctuation removed, whitespace runs collapsed; articles are kept);
- ROUGE-L: the F-measure of rouge-score's rougeL, with the Porter stemmer and the default tokenizer,
  the prediction as rouge-score's `prediction` and the reference as its `target`;
- an instance scores the best over its references; a metric is 100 x the mean over instances,
  accumulated in instance order with Python floats and rounded to 4 decimals.
"""
from __future__ import annotations

import string
from typing import Hashable, Sequence

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop ASCII punctuation, collapse whitespace (SQuAD's rule without dropping articles)."""
    return " ".join("".join(ch for ch in text.lower() if ch not in _PUNCTUATION).split())


def exact_match(prediction: str, reference: str) -> bool:
    """True when prediction and reference are equal after `normalize_answer`."""
    return normalize_answer(prediction) == normalize_answer(reference)


def rouge_l_fmeasures(targets: Sequence[str], predictions: Sequence[str], use_stemmer: bool = True) -> list[float]:
    """ROUGE-L F of each (target, prediction) pair with rouge-score's default tokenizer: our
    RougeScorer, whose floats are rouge-score 0.1.2's (tests/test_rouge_scorer.py). The stemmer
    needs NLTK (pip install 'selfinstruct[eval]')."""
    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    from ..rouge_scorer import RougeScorer

    scorer = RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    return scorer.score_batch(list(targets), list(predictions))["rougeL"]["fmeasure"].tolist()


def best_rouge_l(predictions: Sequence[str], references: Sequence[Sequence[str]], use_stemmer: bool = True) -> list[float]:
    """Each instance's ROUGE-L F against its best reference (all pairs scored in one batch)."""
    targets = [reference for refs in references for reference in refs]
    preds = [prediction for prediction, refs in zip(predictions, references) for _ in refs]
    scores = rouge_l_fmeasures(targets, preds, use_stemmer=use_stemmer)
    best, start = [], 0
    for refs in references:
        best.append(max(scores[start:start + len(refs)]))
        start += len(refs)
    return best


def best_exact_match(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[bool]:
    """Each instance's exact match against any of its references."""
    return [max(exact_match(prediction, reference) for reference in refs)
            for prediction, refs in zip(predictions, references)]


def aggregate(exact: Sequence[bool], rouge: Sequence[float]) -> dict[str, float]:
    """{"exact_match", "rougeL"}: 100 x the mean of per-instance scores, summed in order, 4 decimals."""
    if len(exact) != len(rouge) or not exact:
        raise ValueError("aggregate needs the same, non-zero number of exact-match and ROUGE-L scores")
    em_total = 0
    rouge_total = 0
    for hit, score in zip(exact, rouge):  # the reference's running sums, in its order
        em_total += hit
        rouge_total += score
    return {"exact_match": round(100.0 * em_total / len(exact), 4),
            "rougeL": round(100.0 * rouge_total / len(rouge), 4)}


def aggregate_by_group(exact: Sequence[bool], rouge: Sequence[float], groups: Sequence[Hashable]) -> dict[str, float]:
    """{"{metric}_for_{group}"} per group, groups in order of first appearance."""
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    results: dict[str, float] = {}
    for group, indices in members.items():
        for metric, value in aggregate([exact[i] for i in indices], [rouge[i] for i in indices]).items():
            results[f"{metric}_for_{group}"] = value
    return results


def normalize_category(category: str) -> str:
    """A task category as a metric-key part: lower-case, whitespace runs -> "_"."""
    return "_".join(category.lower().split())
