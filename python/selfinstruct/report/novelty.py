"""Novelty: each instruction's ROUGE-L F to its most similar seed instruction, and the mean pairwise
ROUGE-L F within a random sample of the instructions. Both use the exact core (rouge-score's floats)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..rouge import cdist, max_scores


@dataclass(frozen=True)
class Novelty:
    """ROUGE-L figures of one dataset against one seed set."""

    to_seed: np.ndarray  # per instruction, the best F against any seed instruction
    pairwise_mean: Optional[float]  # mean F over all pairs of the sample; None for fewer than 2 instructions
    pairwise_sample: int  # instructions in that sample


def pairwise_mean(texts: Sequence[str], sample: int, seed: int = 0, threads: Optional[int] = None) -> tuple[Optional[float], int]:
    """Mean ROUGE-L F over the distinct pairs of a seeded random sample of at most `sample` texts."""
    chosen = list(texts) if len(texts) <= sample else random.Random(seed).sample(list(texts), sample)
    if len(chosen) < 2:
        return None, len(chosen)
    matrix = cdist(chosen, chosen, threads=threads)
    upper = matrix[np.triu_indices(len(chosen), k=1)]
    return float(upper.mean()), len(chosen)


def novelty(instructions: Sequence[str], seeds: Sequence[str], sample: int = 2000, threads: Optional[int] = None) -> Novelty:
    """Best F to the seeds for every instruction, and the mean pairwise F on a sample."""
    if seeds:
        best, _ = max_scores(list(instructions), list(seeds), threads=threads)
    else:
        best = np.zeros(len(instructions))
    mean, used = pairwise_mean(instructions, sample, threads=threads)
    return Novelty(np.asarray(best, dtype=float), mean, used)
