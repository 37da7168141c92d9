"""The all-pairs kernel tiers against rouge-score 0.1.2: packed lanes, unrolled 2..8 words.

cdist and max_scores pack the choices of 1..64 tokens into lanes of 8, 16, 32 or 64 bits
once there are at least 16 query rows; a single row is scored one choice at a time. These tests
hit both sides of every lane boundary, partly filled groups, choices past 64/128/256 tokens (left
to the one-at-a-time kernel) and Unicode, and compare with the reference float by ==. Patterns of
65..512 tokens (2..8 words) run an unrolled single-pattern kernel, checked at its word edges.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import selfinstruct as si
from selfinstruct import _core

from reference import reference_f

WORDS = ["the", "a", "cat", "dog", "Sat", "on", "x1", "42", "Ünïcode", "don't", "中文", "café", "\u212aelvin"]
LANE_EDGES = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65]


def words_text(lengths: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return lengths.flatmap(lambda n: st.lists(st.sampled_from(WORDS), min_size=n, max_size=n)).map(" ".join)


edge_lengths = st.sampled_from(LANE_EDGES) | st.integers(0, 66)


@settings(max_examples=25, deadline=None)
@given(st.lists(words_text(st.integers(0, 40)), min_size=16, max_size=17), st.lists(words_text(edge_lengths), min_size=1, max_size=24))
def test_packed_rows_match_reference(reference_scorer, queries, choices):
    matrix = si.cdist(queries, choices, threads=2)
    for i, query in enumerate(queries):
        for j, choice in enumerate(choices):
            assert matrix[i, j] == reference_f(reference_scorer, choice, query)


def _token_text(size: int, vocabulary: int, rng: random.Random) -> str:
    return " ".join(f"w{rng.randrange(vocabulary)}" for _ in range(size))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(LANE_EDGES + [0, 100, 129, 257, 300]) | st.integers(0, 80), min_size=16, max_size=40),
    st.lists(st.sampled_from(LANE_EDGES + [0, 100, 128, 129, 256, 257]) | st.integers(0, 80), min_size=1, max_size=140),
    st.integers(1, 12),
    st.randoms(use_true_random=False),
)
def test_packed_equals_one_row_at_a_time(query_lengths, choice_lengths, vocabulary, rng):
    # The one-row path (no packing) is checked against rouge-score in test_rouge_exact.py.
    queries = [_token_text(n, vocabulary, rng) for n in query_lengths]
    choices = [_token_text(m, vocabulary, rng) for m in choice_lengths]
    matrix = si.cdist(queries, choices, threads=2)
    rows = np.vstack([si.cdist([query], choices, threads=1) for query in queries])
    assert np.array_equal(matrix, rows)
    assert np.array_equal(matrix, si.cdist(queries, choices, threads=1))
    best, index = si.max_scores(queries, choices, threads=2)
    assert np.array_equal(best, matrix.max(axis=1))
    assert np.array_equal(index, matrix.argmax(axis=1))


def test_every_lane_width_edge_against_reference(reference_scorer):
    # For choice lengths on both sides of each lane width: the choice equal to a prefix of the query (its lane's top bit
    # matched), one token changed at the end, and reversed; full groups and one partly filled.
    rng = random.Random(5)
    base = [f"w{rng.randrange(7)}" for _ in range(70)]
    choices = []
    for m in sorted(set(LANE_EDGES + [3, 5, 24, 40, 48, 66])):
        choices.append(" ".join(base[:m]))
        choices.append(" ".join(base[: m - 1] + ["zz"]))
        choices.append(" ".join(reversed(base[:m])))
    queries = [" ".join(base[:n]) for n in [0] + LANE_EDGES + [70]] + ["zz", "中文 only"]
    matrix = si.cdist(queries, choices, threads=2)
    for i, query in enumerate(queries):
        for j, choice in enumerate(choices):
            assert matrix[i, j] == reference_f(reference_scorer, choice, query)
    ranked = si.top_k(queries, choices, k=5)
    for row, result in zip(matrix, ranked):
        assert [j for j, _ in result] == sorted(range(len(choices)), key=lambda j: (-row[j], j))[:5]


@pytest.mark.parametrize("count", [31, 32, 33, 255, 256, 257])
def test_group_counts_and_long_queries(count):
    # Choices filling groups exactly or one over, queries past 64/128/256 tokens.
    rng = random.Random(count)
    choices = [_token_text(rng.choice([3, 8, 12, 16, 24, 32, 48, 64]), 9, rng) for _ in range(count)]
    queries = [_token_text(n, 9, rng) for n in (0, 1, 5, 8, 9, 16, 17, 32, 33, 64, 65, 128, 129, 256, 257, 600)]
    matrix = si.cdist(queries, choices, threads=2)
    rows = np.vstack([si.cdist([query], choices, threads=1) for query in queries])
    assert np.array_equal(matrix, rows)


WORD_EDGES = [64, 65, 127, 128, 129, 191, 192, 255, 256, 257, 448, 511, 512, 513, 600]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(WORD_EDGES) | st.integers(60, 520),
    st.integers(0, 700),
    st.integers(1, 10),
    st.randoms(use_true_random=False),
)
def test_unrolled_word_tiers_equal_dynamic_programming(m, n, alphabet, rng):
    # Patterns of 2..8 words run an unrolled kernel with its state on the stack; 9+ words the loop.
    a = [rng.randrange(alphabet) for _ in range(m)]
    b = [rng.randrange(alphabet) for _ in range(n)]
    assert _core._lcs(a, b) == _core._lcs_reference(a, b)


@pytest.mark.parametrize("size", [255, 256, 257, 511, 512, 513])
def test_unrolled_word_tiers_against_reference(size, reference_scorer):
    rng = random.Random(size)
    a = _token_text(size, 5, rng)
    b = _token_text(rng.randint(size // 2, size + 40), 5, rng)
    assert si.rouge_l(a, b) == reference_f(reference_scorer, a, b)
    assert si.rouge_l(b, a) == reference_f(reference_scorer, b, a)


def test_top_k_with_tokens_outside_the_choices(reference_scorer):
    # top_k's dense masks cover only the choices' token ids; query tokens beyond them match nothing.
    choices = ["", "a b c", "b c d e", "中文", "e e e"]
    queries = ["x y z", "a x b", "", " ".join(["e", "q"] * 40), "e"]
    for query, result in zip(queries, si.top_k(queries, choices, k=3)):
        scores = [reference_f(reference_scorer, choice, query) for choice in choices]
        expected = sorted(range(len(choices)), key=lambda j: (-scores[j], j))[:3]
        assert [j for j, _ in result] == expected
        assert [s for _, s in result] == [scores[j] for j in expected]
    assert si.top_k(["a b"], ["", ""], k=2) == [[(0, 0.0), (1, 0.0)]]


@settings(max_examples=25, deadline=None)
@given(st.lists(words_text(st.integers(0, 70)), min_size=1, max_size=20))
def test_a_list_against_itself_matches_reference(reference_scorer, texts):
    # The same list on both sides is tokenized once and copied; the matrix must not change.
    matrix = si.cdist(texts, texts, threads=2)
    assert np.array_equal(matrix, si.cdist(texts, [text.encode().decode() for text in texts], threads=2))
    for i, query in enumerate(texts):
        for j, choice in enumerate(texts):
            assert matrix[i, j] == reference_f(reference_scorer, choice, query)
