"""Novelty figures: best ROUGE-L to a seed and the mean pairwise ROUGE-L, against rouge-score itself."""
from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings, strategies as st

from selfinstruct.report.figures import length_figure, novelty_figure
from selfinstruct.report.novelty import novelty, pairwise_mean

WORDS = st.sampled_from(["write", "a", "poem", "about", "the", "sea", "list", "tips", "sleep", "x"])
TEXTS = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)


@settings(max_examples=60)
@given(st.lists(TEXTS, min_size=1, max_size=8), st.lists(TEXTS, min_size=1, max_size=5))
def test_best_score_to_seeds_is_the_reference_max(reference_scorer, instructions, seeds):
    got = novelty(instructions, seeds, sample=50).to_seed
    for text, score in zip(instructions, got):
        assert score == max(reference_scorer.score(seed, text)["rougeL"].fmeasure for seed in seeds)


@settings(max_examples=60)
@given(st.lists(TEXTS, min_size=2, max_size=9))
def test_pairwise_mean_over_all_pairs_of_a_small_set(reference_scorer, texts):
    mean, used = pairwise_mean(texts, sample=100)
    pairs = [reference_scorer.score(a, b)["rougeL"].fmeasure for a, b in itertools.combinations(texts, 2)]
    assert used == len(texts)
    assert np.isclose(mean, sum(pairs) / len(pairs), rtol=1e-12, atol=0)


def test_pairwise_sample_is_seeded_and_capped():
    texts = [f"text number {n} about item {n % 7}" for n in range(50)]
    first, used = pairwise_mean(texts, sample=10)
    assert used == 10 and pairwise_mean(texts, sample=10)[0] == first
    assert pairwise_mean(["only one"], sample=10) == (None, 1)


def test_novelty_bins_put_exact_edges_up_and_one_in_the_last_bin():
    figure = novelty_figure([("a", np.array([0.0, 0.05, 0.5, 0.99, 1.0]))], "seeds")
    counts = figure["series"][0]["counts"]
    assert len(counts) == 20 and sum(counts) == 5
    assert counts[0] == 1 and counts[1] == 1 and counts[10] == 1 and counts[19] == 2


def test_length_bins_keep_every_value_and_cap_the_tail():
    values = list(range(1, 201))
    figure = length_figure("length-x", "x", [("a", values), ("b", [3])])
    a, b = (s["counts"] for s in figure["series"])
    assert sum(a) == 200 and sum(b) == 1
    assert figure["labels"][-1].startswith("≥")
    assert len(figure["labels"]) <= 31
