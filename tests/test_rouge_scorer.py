"""selfinstruct.RougeScorer gives rouge-score 0.1.2's results (floats compared with ==)."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import selfinstruct as si
from selfinstruct.rouge_scorer import ROUGE_TYPES, Score

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
pytest.importorskip("nltk", reason="the stemmer tests need NLTK (pip install 'selfinstruct[eval]')")

ALL_TYPES = list(ROUGE_TYPES)
# Words the Porter stemmer changes (and some it maps together), short words it leaves alone, Unicode.
WORDS = [
    "the", "a", "cat", "cats", "running", "runs", "ran", "happiness", "happy", "generously", "agreed",
    "ponies", "caresses", "flies", "dying", "skies", "relational", "conditional", "x1", "42", "Ünïcode",
    "don't", "中文", "café", "\u212aelvin", "İstanbul", "dog", "dogs",
]
SEPARATORS = [" ", " ", " ", "\n", ", ", ". ", "\n\n", " - ", "\r\n", "\t"]


def _join(parts: list[tuple[str, str]]) -> str:
    return "".join(word + separator for word, separator in parts)


def word_texts(words: list[str], max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    pieces = st.tuples(st.sampled_from(words), st.sampled_from(SEPARATORS))
    return st.lists(pieces, min_size=min_size, max_size=max_size).map(_join)


texts = st.text(max_size=80) | word_texts(WORDS, 60)
# Three letters and many lines: LCS ties everywhere, so the backtrack's choice decides rougeLsum.
tie_texts = word_texts(["a", "b", "c"], 40)


@pytest.fixture(scope="module")
def scorers():
    """(ours, rouge-score's) for all types, without and with the stemmer."""
    return {
        stem: (si.RougeScorer(ALL_TYPES, use_stemmer=stem), rouge_scorer.RougeScorer(ALL_TYPES, use_stemmer=stem))
        for stem in (False, True)
    }


def assert_same(ours: dict, reference: dict) -> None:
    assert list(ours) == list(reference)
    for name, score in reference.items():
        assert tuple(ours[name]) == tuple(score), name
        assert ours[name].fmeasure == score.fmeasure and ours[name].precision == score.precision


@pytest.mark.parametrize("stem", [False, True])
@given(target=texts, prediction=texts)
def test_score_matches_reference(scorers, stem, target, prediction):
    ours, reference = scorers[stem]
    assert_same(ours.score(target, prediction), reference.score(target, prediction))


@pytest.mark.parametrize("stem", [False, True])
@given(target=tie_texts, prediction=tie_texts)
def test_summary_lcs_ties_match_reference(scorers, stem, target, prediction):
    ours, reference = scorers[stem]
    assert_same(ours.score(target, prediction), reference.score(target, prediction))


# Past one, two and four 64-bit words of the bit-parallel kernels; fewer examples because the
# reference's Python LCS tables are slow at these lengths.
@settings(max_examples=25)
@given(target=word_texts(WORDS[:8], 300, min_size=50), prediction=word_texts(WORDS[:8], 300, min_size=50))
def test_long_texts_match_reference(scorers, target, prediction):
    ours, reference = scorers[True]
    assert_same(ours.score(target, prediction), reference.score(target, prediction))


@pytest.mark.parametrize("length", [63, 64, 65, 127, 128, 129, 255, 256, 257])
def test_lengths_at_word_boundaries(scorers, length):
    rng = np.random.default_rng(length)
    for stem in (False, True):
        ours, reference = scorers[stem]
        for _ in range(3):
            target = " ".join(rng.choice(["a", "b", "c", "runs", "dog"], size=length))
            prediction = "\n".join(" ".join(rng.choice(["a", "b", "dog", "running"], size=length // 4)) for _ in range(4))
            assert_same(ours.score(target, prediction), reference.score(target, prediction))
            assert_same(ours.score(prediction, target), reference.score(prediction, target))


@pytest.mark.parametrize(
    "target, prediction",
    [("", ""), ("", "a b"), ("a b", ""), ("\n\n", "a"), ("a", "\n"), ("...", "!!"), (" \n ", "a\n\nb"), ("a", "a")],
)
def test_empty_and_tokenless_texts(scorers, target, prediction):
    for stem in (False, True):
        ours, reference = scorers[stem]
        assert_same(ours.score(target, prediction), reference.score(target, prediction))


@pytest.mark.parametrize("types", [["rougeLsum"], ["rouge2", "rougeL"], ["rougeL", "rouge1", "rougeL"], []])
def test_type_subsets_keep_order(types):
    target, prediction = "the cat sat\non the mat", "the cat\nsat on a mat"
    ours = si.RougeScorer(types).score(target, prediction)
    assert_same(ours, rouge_scorer.RougeScorer(types).score(target, prediction))


@given(targets=st.lists(texts | tie_texts, min_size=1, max_size=4), prediction=texts | tie_texts)
def test_score_multi_matches_reference(scorers, targets, prediction):
    ours, reference = scorers[True]
    assert_same(ours.score_multi(targets, prediction), reference.score_multi(targets, prediction))


@given(pairs=st.lists(st.tuples(texts | tie_texts, texts | tie_texts), max_size=30))
def test_score_batch_equals_score(scorers, pairs):
    ours, _ = scorers[True]
    targets = [t for t, _ in pairs]
    predictions = [p for _, p in pairs]
    for threads in (1, 3):
        batch = ours.score_batch(targets, predictions, threads=threads)
        assert list(batch) == ALL_TYPES
        for i, (target, prediction) in enumerate(pairs):
            single = ours.score(target, prediction)
            for name in ALL_TYPES:
                row = batch[name]
                assert (row["precision"][i], row["recall"][i], row["fmeasure"][i]) == tuple(single[name])


def test_fresh_scorer_batch_stems_unseen_tokens():
    # The first batch meets every token uncached: the stems are fetched between two passes.
    words = [f"{stem}{suffix}" for stem in ("connect", "generat", "relat", "happ") for suffix in ("ing", "ed", "ions", "s")]
    rng = np.random.default_rng(1)
    targets = [" ".join(rng.choice(words, size=20)) for _ in range(200)]
    predictions = [" ".join(rng.choice(words, size=25)) for _ in range(200)]
    ours = si.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    batch = ours.score_batch(targets, predictions, threads=2)
    assert ours.cached_stems == len(set(words))
    reference = rouge_scorer.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    for i in range(0, 200, 7):
        expected = reference.score(targets[i], predictions[i])
        assert batch["rouge1"]["fmeasure"][i] == expected["rouge1"].fmeasure
        assert batch["rougeLsum"]["recall"][i] == expected["rougeLsum"].recall


def test_concurrent_batches_on_one_scorer():
    # Several Python threads share one scorer (and its stem cache) with the GIL released.
    rng = np.random.default_rng(2)
    vocabulary = [f"word{k}ing" for k in range(300)]
    batches = [([" ".join(rng.choice(vocabulary, 30)) for _ in range(100)], [" ".join(rng.choice(vocabulary, 30)) for _ in range(100)]) for _ in range(4)]
    shared = si.RougeScorer(["rouge2", "rougeL"], use_stemmer=True)
    results: list = [None] * len(batches)

    def work(k: int) -> None:
        results[k] = shared.score_batch(*batches[k], threads=2)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, (targets, predictions) in enumerate(batches):
        alone = si.RougeScorer(["rouge2", "rougeL"], use_stemmer=True).score_batch(targets, predictions, threads=1)
        for name in ("rouge2", "rougeL"):
            assert np.array_equal(results[k][name]["fmeasure"], alone[name]["fmeasure"])


def test_score_is_namedtuple_compatible():
    score = si.RougeScorer(["rouge1"]).score("a b", "a")["rouge1"]
    assert isinstance(score, Score)
    assert score == rouge_scorer.RougeScorer(["rouge1"]).score("a b", "a")["rouge1"]
    assert (score.precision, score.recall, score.fmeasure) == (1.0, 0.5, score[2])


def test_unicode_tokenizer_scores_non_english_text():
    scorer = si.RougeScorer(["rouge1", "rougeL", "rougeLsum"], tokenizer="unicode")
    scores = scorer.score("我爱北京\n天安门", "我爱天安门")
    # Every character is a token: 5 of the target's 7 are in the prediction, in order.
    assert scores["rouge1"] == Score(1.0, 5 / 7, 2 * 1.0 * (5 / 7) / (1.0 + 5 / 7))
    assert scores["rougeL"] == scores["rouge1"]
    # Summary-level over the two lines: "我爱" from line one and "天安门" from line two.
    assert scores["rougeLsum"].precision == 1.0
    batch = scorer.score_batch(["我爱北京\n天安门"], ["我爱天安门"])
    assert batch["rougeLsum"]["fmeasure"][0] == scores["rougeLsum"].fmeasure
    # The reference tokenizer sees no tokens in Chinese text.
    assert si.RougeScorer(["rouge1"]).score("我爱北京", "我爱北京")["rouge1"].fmeasure == 0.0


def _clear_punkt_cache():
    import nltk.tokenize

    clear = getattr(getattr(nltk.tokenize, "_get_punkt_tokenizer", None), "cache_clear", None)
    if clear is not None:
        clear()


@pytest.fixture(scope="module")
def punkt_model(tmp_path_factory):
    """A Punkt model with no learned abbreviations, in the punkt_tab layout NLTK reads, on NLTK's path."""
    import nltk

    directory = tmp_path_factory.mktemp("nltk_data")
    model = directory / "tokenizers" / "punkt_tab" / "english"
    model.mkdir(parents=True)
    for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab"):
        (model / name).write_text("")
    _clear_punkt_cache()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(nltk.data, "path", [str(directory)] + list(nltk.data.path))
        try:
            nltk.sent_tokenize("One. Two.")
        except LookupError:
            pytest.skip("this NLTK reads a Punkt model format other than punkt_tab")
        types = ["rougeLsum", "rouge1"]
        yield (
            si.RougeScorer(types, use_stemmer=True, split_summaries=True),
            rouge_scorer.RougeScorer(types, use_stemmer=True, split_summaries=True),
        )
    _clear_punkt_cache()


sentences_text = st.lists(st.sampled_from(["Dr. Smith", "went home.", "He ran!", "Was it? yes.", "a\nb", "cats"]), max_size=8)


@given(target=sentences_text.map(" ".join), prediction=sentences_text.map(" ".join))
def test_split_summaries_matches_reference(punkt_model, target, prediction):
    ours, reference = punkt_model
    expected = reference.score(target, prediction)
    assert_same(ours.score(target, prediction), expected)
    assert ours.score_batch([target], [prediction])["rougeLsum"]["fmeasure"][0] == expected["rougeLsum"].fmeasure


def test_split_summaries_without_punkt_data_says_how_to_install(tmp_path, monkeypatch):
    import nltk

    _clear_punkt_cache()
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.delenv("NLTK_DATA", raising=False)
    try:
        nltk.sent_tokenize("One. Two.")
        pytest.skip("a Punkt model is installed system-wide, so the missing-data error cannot be provoked")
    except LookupError:
        pass
    with pytest.raises(LookupError, match="punkt_tab"):
        si.RougeScorer(["rougeLsum"], split_summaries=True)
    si.RougeScorer(["rougeL"], split_summaries=True)  # no sentences to split: nothing is needed
    _clear_punkt_cache()


def test_missing_nltk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nltk.stem.porter", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"selfinstruct\[eval\]"):
        si.RougeScorer(["rouge1"], use_stemmer=True)
    si.RougeScorer(["rouge1"])  # without the stemmer NLTK is not needed


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: si.RougeScorer(["rouge0"]), ValueError, "unknown rouge type 'rouge0'"),
        (lambda: si.RougeScorer(["rougeLSum"]), ValueError, "unknown rouge type"),
        (lambda: si.RougeScorer(["rouge10"]), ValueError, "unknown rouge type"),
        (lambda: si.RougeScorer("rouge1"), TypeError, "not a single|not 'rouge1'"),
        (lambda: si.RougeScorer([1]), ValueError, "unknown rouge type 1"),
        (lambda: si.RougeScorer(None), TypeError, "rouge_types must be a list"),
        (lambda: si.RougeScorer(["rouge1"], use_stemmer="yes"), TypeError, "use_stemmer"),
        (lambda: si.RougeScorer(["rouge1"], tokenizer="spacy"), ValueError, "unknown tokenizer"),
        (lambda: si.RougeScorer(["rouge1"], tokenizer=object()), TypeError, "tokenizer objects"),
    ],
)
def test_bad_configuration(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("tokenizer", ["rouge", "unicode"])
def test_bad_texts(tokenizer):
    scorer = si.RougeScorer(["rouge1", "rougeLsum"], tokenizer=tokenizer)
    with pytest.raises(TypeError, match="target must be str, not bytes"):
        scorer.score(b"a", "a")
    with pytest.raises(TypeError, match="prediction must be str, not NoneType"):
        scorer.score("a", None)
    with pytest.raises(ValueError, match="surrogate"):
        scorer.score("a\ud800", "a")
    with pytest.raises(TypeError, match=r"predictions\[1\] must be str, not int"):
        scorer.score_batch(["a", "b"], ["a", 3])
    with pytest.raises(TypeError, match="not a single str"):
        scorer.score_batch("ab", "ab")
    with pytest.raises(ValueError, match="differ in length"):
        scorer.score_batch(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="threads"):
        scorer.score_batch(["a"], ["a"], threads=0)
    with pytest.raises(ValueError, match="at least one target"):
        scorer.score_multi([], "a")
    with pytest.raises(TypeError, match="not a single str"):
        scorer.score_multi("abc", "a")


def test_stemmer_errors_are_raised():
    # A stemmer that breaks its contract (one stem per token) raises instead of scoring.
    from selfinstruct import _core

    broken = _core.RougeFamily(["rouge1"], 0, lambda tokens: tokens[:-1])
    with pytest.raises(ValueError, match="one stem per token"):
        broken.score_pairs(["running dogs"], ["running"])
    failing = _core.RougeFamily(["rouge1"], 0, lambda tokens: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.score("running dogs", "running")


sentence_lists = st.lists(st.lists(st.integers(0, 3), max_size=150), max_size=4)


@settings(max_examples=60)
@given(reference=sentence_lists, candidate=sentence_lists)
def test_summary_hits_with_bounded_column_memory(reference, candidate):
    # Long sentences keep only checkpoint columns and recompute blocks during the backtrack
    # (forced here by a tiny limit): the same hits as keeping every column, and as rouge-score.
    from selfinstruct import _core

    hits = _core._summary_hits(reference, candidate, 1 << 20)
    assert _core._summary_hits(reference, candidate, 1) == hits
    assert _core._summary_hits(reference, candidate, 7) == hits
    expected = rouge_scorer._summary_level_lcs(reference, candidate)
    m, n = sum(map(len, reference)), sum(map(len, candidate))
    assert (hits / m if m and n else 0) == expected.recall


SUFFIXES = ["", "s", "ies", "ied", "ed", "eed", "ing", "y", "e", "ll", "ational", "tional", "alli", "logi", "fulli",
            "bli", "ization", "ousness", "iciti", "ical", "ness", "ement", "ment", "ion", "sion", "ate", "ize", "ly"]
porter_words = st.builds(
    lambda stem, first, second: stem + first + second,
    st.text(alphabet="aeiouybcdlmnrstz", min_size=0, max_size=8),
    st.sampled_from(SUFFIXES),
    st.sampled_from(SUFFIXES),
) | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=14)


@pytest.fixture(scope="module")
def nltk_stem():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer().stem


def test_compiled_porter_matches_nltk_on_the_probe_vocabulary(nltk_stem):
    from selfinstruct import _core
    from selfinstruct.stemming import probe_vocabulary

    words = probe_vocabulary()
    assert len(words) > 2500
    assert [_core.porter_stem(w) for w in words] == [nltk_stem(w) for w in words]


@settings(max_examples=300)
@given(words=st.lists(porter_words, min_size=1, max_size=20))
def test_compiled_porter_matches_nltk(nltk_stem, words):
    from selfinstruct import _core

    assert [_core.porter_stem(w) for w in words] == [nltk_stem(w) for w in words]


@given(target=texts, prediction=texts)
def test_nltk_fallback_gives_the_same_scores(scorers, nltk_stem, target, prediction):
    # The scorer calls NLTK itself when the compiled stemmer disagrees with the installed NLTK.
    from selfinstruct import _core

    through_nltk = _core.RougeFamily(ALL_TYPES, 0, lambda tokens: [nltk_stem(t) for t in tokens])
    ours, _ = scorers[True]
    expected = [tuple(score) for score in ours.score(target, prediction).values()]
    assert through_nltk.score(target, prediction) == expected


def test_scorer_falls_back_to_nltk_when_the_compiled_stemmer_disagrees(monkeypatch):
    from selfinstruct import stemming

    monkeypatch.setattr(stemming, "_compiled_matches_nltk", lambda: False)
    assert callable(stemming.porter_stemmer(0))
    scorer = si.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    reference = rouge_scorer.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    text = "The generously relational dogs were running\nskies dying"
    assert_same(scorer.score(text, "dog runs generously"), reference.score(text, "dog runs generously"))


@pytest.mark.parametrize("tokenizer", ["rouge", "unicode"])
def test_batch_inputs_may_be_any_iterable(tokenizer):
    scorer = si.RougeScorer(["rouge1"], tokenizer=tokenizer)
    batch = scorer.score_batch((t for t in ["a b", "c"]), iter(["a", "c d"]), threads=2)
    assert batch["rouge1"]["recall"].tolist() == [0.5, 1.0]
    with pytest.raises(TypeError, match="targets must be a sequence of str, not int"):
        scorer.score_batch(3, ["a"])
