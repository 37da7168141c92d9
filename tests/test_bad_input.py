"""Bad input gets a clear error: non-str -> TypeError, lone surrogates -> ValueError naming the index."""
from __future__ import annotations

import pytest

import selfinstruct as si


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["list"]])
def test_non_str_scalars(bad):
    with pytest.raises(TypeError):
        si.rouge_l(bad, "x")
    with pytest.raises(TypeError):
        si.rouge_l("x", bad)
    with pytest.raises(TypeError):
        si.tokenize(bad)


@pytest.mark.parametrize("function", [si.cdist, si.max_scores, si.top_k])
def test_sequences_with_non_str(function):
    with pytest.raises(TypeError, match=r"queries\[1\]"):
        function(["ok", 5], ["x"])
    with pytest.raises(TypeError, match=r"choices\[0\]"):
        function(["ok"], [None])
    with pytest.raises(TypeError, match="single str"):
        function("not a list", ["x"])


@pytest.mark.parametrize("function", [si.cdist, si.max_scores, si.top_k])
def test_surrogates_name_the_index(function):
    with pytest.raises(ValueError, match=r"choices\[2\].*surrogate"):
        function(["ok"], ["a", "b", "bad \ud800 text"])


@pytest.mark.parametrize("tokenizer", ["rouge", "unicode"])
def test_pool_bad_input(tokenizer):
    pool = si.Pool(["seed text here"], tokenizer=tokenizer)
    with pytest.raises(TypeError, match=r"candidates\[1\]"):
        pool.admit(["fine", 7])
    with pytest.raises(ValueError, match=r"candidates\[0\]"):
        pool.admit(["\udfff"])
    with pytest.raises(TypeError):
        pool.add([None])
    with pytest.raises(TypeError):
        pool.most_similar(3)
    with pytest.raises(TypeError):
        pool.scores(None)
    with pytest.raises(TypeError):
        pool.avg_similarity(b"bytes")
    with pytest.raises(ValueError, match="surrogate"):
        pool.most_similar("\ud800")
    with pytest.raises(TypeError, match="single str"):
        pool.admit("a string, not a list")
    with pytest.raises(ValueError, match="count"):
        pool.truncate(-1)
    assert len(pool) == 1  # nothing was admitted by the failed calls


def test_surrogate_in_scalar_api():
    with pytest.raises(ValueError, match="surrogate"):
        si.rouge_l("\ud800", "x")


def test_configuration_errors():
    with pytest.raises(ValueError, match="tokenizer"):
        si.Pool(tokenizer="bpe")
    with pytest.raises(ValueError, match="threshold"):
        si.Pool(threshold=1.5)
    with pytest.raises(ValueError, match="threshold"):
        si.Pool(threshold=float("nan"))
    with pytest.raises(TypeError, match="threshold"):
        si.Pool(threshold="0.7")
    with pytest.raises(ValueError, match="threads"):
        si.Pool(threads=0)
    with pytest.raises(ValueError, match="k must"):
        si.top_k(["a"], ["b"], k=-1)
    with pytest.raises(ValueError, match="tokenizer"):
        si.rouge_l("a", "b", tokenizer="nope")


def test_empty_strings_are_legal():
    assert si.rouge_l("", "") == 0.0
    assert si.rouge_l("", "some words") == 0.0
    pool = si.Pool()
    result = pool.admit(["", "", "!!!"])
    assert result.num_admitted == 3
