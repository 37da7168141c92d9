"""The reference behaviour our engine must match, written with rouge-score itself."""
from __future__ import annotations

from typing import Sequence


def reference_f(scorer, target: str, prediction: str) -> float:
    return scorer.score(target, prediction)["rougeL"].fmeasure


def reference_admission(scorer, candidates: Sequence[str], threshold: float = 0.7, seeds: Sequence[str] = ()):
    """The one-at-a-time greedy loop of the Self-Instruct code: reject iff max F > threshold.

    Returns, per candidate, (admitted, pool index if admitted else most similar index, best F or None).
    """
    pool = list(seeds)
    decisions = []
    for candidate in candidates:
        best, best_index = -1.0, -1
        for index, text in enumerate(pool):
            score = reference_f(scorer, text, candidate)
            if score > best:
                best, best_index = score, index
        if best > threshold:
            decisions.append((False, best_index, best))
        else:
            pool.append(candidate)
            decisions.append((True, len(pool) - 1, None))
    return decisions
