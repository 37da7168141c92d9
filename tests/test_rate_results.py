"""Results of ratings: Cohen's kappa against a hand computation, the per-model table, the written files."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.rate.agreement import cohen_kappa, pairwise_agreement
from selfinstruct.rate.results import summarize
from selfinstruct.rate.store import Rating, latest_ratings

FIRST = list("AABBCDABCC")
SECOND = list("ABBBCDAADC")


def test_kappa_matches_a_hand_computation():
    # Agreement 7/10. Label counts: first A3 B3 C3 D1, second A3 B3 C2 D2, so chance agreement is
    # (3*3 + 3*3 + 3*2 + 1*2) / 100 = 0.26 and kappa = (0.7 - 0.26) / (1 - 0.26) = 22/37.
    assert cohen_kappa(FIRST, SECOND) == pytest.approx(22 / 37, rel=1e-12)
    assert cohen_kappa(FIRST, FIRST) == 1.0
    # Systematic disagreement on two labels used equally often: p_o = 0, p_e = 0.5, kappa = -1.
    assert cohen_kappa(list("ABAB"), list("BABA")) == -1.0


def kappa_from_confusion(first, second):
    """Kappa as 1 - (weighted disagreement) / (weighted chance disagreement) over the confusion matrix:
    a second, independent formulation."""
    labels = sorted(set(first) | set(second))
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)))
    for a, b in zip(first, second):
        confusion[index[a], index[b]] += 1
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / confusion.sum()
    disagree = 1 - np.eye(len(labels))
    return 1 - (disagree * confusion).sum() / (disagree * expected).sum()


@given(st.lists(st.tuples(st.sampled_from("ABCD"), st.sampled_from("ABCD")), min_size=1, max_size=60))
def test_kappa_agrees_with_the_confusion_matrix_form(pairs):
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    kappa = cohen_kappa(first, second)
    if kappa is None:  # undefined exactly when both raters used one and the same label throughout
        assert len(set(first) | set(second)) == 1
        return
    assert kappa == pytest.approx(kappa_from_confusion(first, second), abs=1e-12)
    assert kappa == pytest.approx(cohen_kappa(second, first), abs=1e-15)
    assert -1.0 <= kappa <= 1.0


def test_kappa_undefined_cases():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(list("AAA"), list("AAA")) is None  # both used one label only: p_e = 1
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(list("AB"), list("A"))


def rating(rater, item, model, level):
    return Rating(rater, item, model, level, "2026-01-01T00:00:00.000+00:00")


def test_pairwise_agreement_over_shared_items_only():
    ratings = [rating("ann", f"t{i}", "m", a) for i, a in enumerate(FIRST)]
    ratings += [rating("ben", f"t{i}", "m", b) for i, b in enumerate(SECOND)]
    ratings += [rating("ben", "t99", "m", "A"), rating("cat", "t98", "m", "B")]  # not shared with anyone
    pairs = pairwise_agreement(latest_ratings(ratings))
    assert len(pairs) == 1  # cat shares nothing, so no pair with cat
    pair = pairs[0]
    assert (pair.rater_a, pair.rater_b, pair.shared, pair.observed) == ("ann", "ben", 10, 0.7)
    assert pair.kappa == pytest.approx(22 / 37, rel=1e-12)
    # Acceptable (A/B) or not: both raters split these ten the same way.
    assert pair.kappa_acceptable == 1.0


def test_table_per_model_counts_the_last_rating_of_each_rater():
    ratings = [
        rating("ann", "t0", "m1", "A"), rating("ann", "t1", "m1", "D"), rating("ann", "t0", "m2", "C"),
        rating("ben", "t0", "m1", "B"), rating("ann", "t1", "m1", "B"),  # ann changes her mind on t1
    ]
    results = summarize(ratings, models=["m2", "m1", "unrated"])
    assert [row.model for row in results.models] == ["m2", "m1", "unrated"]
    assert results.models[1].counts == {"A": 1, "B": 2, "C": 0, "D": 0}
    assert results.models[0].counts == {"A": 0, "B": 0, "C": 1, "D": 0}
    assert results.models[2].rated == 0 and results.models[2].share("A") == 0.0
    assert results.by_rater["ann"][1].counts == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert results.ratings_given == 5
    table = results.markdown()
    assert "| m1 | 3 | 1 (33.3%) | 2 (66.7%) | 0 (0.0%) | 0 (0.0%) | 100.0% |" in table
    # One shared response, A against B: p_o = p_e = 0 so kappa 0; both acceptable, so p_e = 1 there: n/a.
    assert "| ann / ben | 1 | 0.000 | 0.000 | n/a |" in table
    assert json.loads(json.dumps(results.to_json()))["models"][1]["shares"]["B"] == pytest.approx(2 / 3)
    assert [row.model for row in summarize(ratings).models] == ["m1", "m2"]  # default: rated models by name


def test_results_files(tmp_path):
    pytest.importorskip("matplotlib", reason="the figure needs matplotlib (pip install 'selfinstruct[rate]')")
    pytest.importorskip("jinja2", reason="the results page needs jinja2 (pip install 'selfinstruct[rate]')")
    from selfinstruct.rate.results_files import RESULT_FILES, write_results
    from selfinstruct.rate.store import RatingStore

    ratings = tmp_path / "ratings.jsonl"
    with RatingStore(ratings) as store:
        for index, level in enumerate("AABCD"):
            store.add("ann", f"t{index}", "model-<one>", level)
        store.add("ben", "t0", "model-two", "B")
    out = tmp_path / "results"
    write_results(ratings, out)
    assert sorted(path.name for path in out.iterdir()) == sorted(RESULT_FILES)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(row["model"], row["counts"]) for row in data["models"]] == [
        ("model-<one>", {"A": 2, "B": 1, "C": 1, "D": 1}), ("model-two", {"A": 0, "B": 1, "C": 0, "D": 0})]
    assert (out / "ratings.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "ratings.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    page = (out / "results.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page
    assert "model-&lt;one&gt;" in page and "model-<one>" not in page  # names are escaped

    ratings.write_bytes(b"")  # before anyone has rated: empty table and figure, no error
    assert write_results(ratings, tmp_path / "empty").models == []
    assert (tmp_path / "empty" / "ratings.png").read_bytes()[:4] == b"\x89PNG"
