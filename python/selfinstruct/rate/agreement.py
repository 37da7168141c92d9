"""Agreement between raters: Cohen's kappa for each pair over the responses both rated."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Hashable, Mapping, Optional, Sequence

from .levels import ACCEPTABLE


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> Optional[float]:
    """Cohen's kappa of two raters' labels for the same items, (p_o - p_e) / (1 - p_e).

    p_o is the share of items both labelled alike, p_e the agreement expected by chance from each
    rater's own label frequencies. None when undefined: no items, or p_e = 1 (both raters used one and
    the same label for everything).
    """
    if len(first) != len(second):
        raise ValueError(f"the raters labelled {len(first)} and {len(second)} items: need the same items")
    total = len(first)
    if total == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second)) / total
    counts_first, counts_second = Counter(first), Counter(second)
    expected = sum(counts_first[label] * counts_second[label] for label in counts_first) / (total * total)
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class PairAgreement:
    """How two raters agree on the responses both rated: the count, raw agreement, and kappa on the four
    levels and on acceptable (A/B) against not (C/D)."""

    rater_a: str
    rater_b: str
    shared: int
    observed: Optional[float]
    kappa: Optional[float]
    kappa_acceptable: Optional[float]


def pairwise_agreement(latest: Mapping[tuple[str, str, str], str]) -> list[PairAgreement]:
    """Agreement for every pair of raters that share at least one rated (item, model), by rater name.

    `latest` maps (rater, item, model) to the rating that counts (see `store.latest_ratings`).
    """
    by_rater: dict[str, dict[tuple[str, str], str]] = {}
    for (rater, item, model), rating in latest.items():
        by_rater.setdefault(rater, {})[(item, model)] = rating
    pairs: list[PairAgreement] = []
    for rater_a, rater_b in combinations(sorted(by_rater), 2):
        shared = sorted(by_rater[rater_a].keys() & by_rater[rater_b].keys())
        if not shared:
            continue
        first = [by_rater[rater_a][key] for key in shared]
        second = [by_rater[rater_b][key] for key in shared]
        observed = sum(a == b for a, b in zip(first, second)) / len(shared)
        pairs.append(PairAgreement(
            rater_a, rater_b, len(shared), observed, cohen_kappa(first, second),
            cohen_kappa([a in ACCEPTABLE for a in first], [b in ACCEPTABLE for b in second]),
        ))
    return pairs
