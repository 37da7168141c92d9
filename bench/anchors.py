"""The anchors every benchmark compares with: the rouge-score loop and rapidfuzz brute force.

Both give decisions identical to the reference (rapidfuzz computes LCS lengths; F is then taken
with the reference float formula in numpy, elementwise, the same IEEE operations as Python).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import selfinstruct as si


def intern_as_strings(texts: Sequence[str]) -> list[str]:
    """Each text as a string with one character per reference token, for rapidfuzz's LCSseq."""
    vocabulary: dict[str, int] = {}
    out = []
    for text in texts:
        chars = []
        for token in si.tokenize(text):
            code = 0x100 + vocabulary.setdefault(token, len(vocabulary))
            if code >= 0xD800:  # skip the surrogate block
                code += 0x800
            chars.append(chr(code))
        out.append("".join(chars))
    return out


def f_from_lcs(lcs: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """rouge-score's F from LCS lengths: (2*p)*r/(p+r), 0 where the LCS is 0."""
    lcs = lcs.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = lcs / n
        recall = lcs / m
        f = 2 * precision * recall / (precision + recall)
    return np.where(lcs > 0, f, 0.0)


def rapidfuzz_cdist_f(queries: list[str], choices: list[str], workers: int = 2) -> np.ndarray:
    """F matrix through rapidfuzz.process.cdist (LCSseq on interned strings) plus numpy."""
    from rapidfuzz import distance, process

    lcs = process.cdist(queries, choices, scorer=distance.LCSseq.similarity, workers=workers, dtype=np.int32)
    n = np.array([len(q) for q in queries], dtype=np.float64)[:, None]
    m = np.array([len(c) for c in choices], dtype=np.float64)[None, :]
    return f_from_lcs(lcs, n, m)


def rapidfuzz_greedy(encoded: list[str], threshold: float = 0.7, batch: int = 2000, workers: int = 2) -> np.ndarray:
    """Greedy admission with rapidfuzz brute force in batches; returns the admitted mask."""
    admitted = np.zeros(len(encoded), dtype=bool)
    pool: list[str] = []
    for start in range(0, len(encoded), batch):
        block = encoded[start : start + batch]
        best_vs_pool = rapidfuzz_cdist_f(block, pool, workers).max(axis=1) if pool else np.zeros(len(block))
        within = rapidfuzz_cdist_f(block, block, workers)
        kept: list[int] = []
        for k in range(len(block)):
            if best_vs_pool[k] > threshold:
                continue
            if kept and within[k, kept].max() > threshold:
                continue
            kept.append(k)
            admitted[start + k] = True
        pool.extend(block[k] for k in kept)
    return admitted


def rouge_score_greedy(texts: Sequence[str], threshold: float = 0.7) -> np.ndarray:
    """The reference loop of the Self-Instruct code (one candidate at a time, rouge-score)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    admitted = np.zeros(len(texts), dtype=bool)
    pool: list[str] = []
    for index, text in enumerate(texts):
        if all(scorer.score(kept, text)["rougeL"].fmeasure <= threshold for kept in pool):
            pool.append(text)
            admitted[index] = True
    return admitted


def rouge_score_pairs_per_second(texts: Sequence[str], pairs: int = 20_000) -> float:
    """Pairs per second of rouge-score's scorer on consecutive text pairs."""
    import time

    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    started = time.perf_counter()
    for k in range(pairs):
        scorer.score(texts[k % len(texts)], texts[(k * 7 + 1) % len(texts)])
    return pairs / (time.perf_counter() - started)
