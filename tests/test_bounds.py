"""The pruning bounds are computed with the reference float formula and never exclude a pair above the threshold."""
from __future__ import annotations

import pytest

from selfinstruct import _core


def reference_f(lcs: int, m: int, n: int) -> float:
    if lcs == 0 or m == 0 or n == 0:
        return 0.0
    precision, recall = lcs / n, lcs / m
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("threshold", [0.7, 0.0, 0.25, 0.5, 0.9, 0.99, 1.0])
def test_min_lcs_and_partner_range_by_brute_force(threshold):
    for n in range(0, 70):
        admissible = []
        upper = int(n * (2 - threshold) / threshold) + 5 if threshold > 0 else 3 * n + 10
        for m in range(0, upper):
            needed = next((l for l in range(1, min(m, n) + 1) if reference_f(l, m, n) > threshold), None)
            assert _core._min_lcs(threshold, m, n) == needed, (m, n)
            if needed is not None:
                admissible.append((m, needed))
        first, last, overlap = _core._bounds(threshold, n)
        if not admissible:
            assert first > last and overlap is None
            continue
        assert first == admissible[0][0]
        if threshold > 0:
            assert last == admissible[-1][0]
            assert [m for m, _ in admissible] == list(range(first, last + 1))
        assert overlap == min(need for _, need in admissible)


def test_f_never_decreases_with_lcs():
    for m in range(1, 150):
        for n in range(1, 150):
            scores = [reference_f(l, m, n) for l in range(0, min(m, n) + 1)]
            assert scores == sorted(scores)
            assert _core._rouge_f(min(m, n), m, n) == scores[-1]
