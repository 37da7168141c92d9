"""A deterministic, realistic stream of instruction candidates for admission benchmarks.

Real-like: a Zipf vocabulary of content words, frequent function words, lengths like generated
instructions (mean ~12 words, long tail), and near-duplicate bursts like a small LLM produces
(a recent instruction re-emitted with a few words changed).
"""
from __future__ import annotations

import json
from typing import TextIO

import numpy as np

FUNCTION_WORDS = (
    "the a an of to and in for on with about that is are be your you this it how what from as by "
    "or its their my me can which who should will into than more most"
).split()
LEADING_VERBS = (
    "write create explain give describe list generate suggest find make compose identify classify "
    "summarize rewrite translate tell provide design plan convert calculate compare recommend draft"
).split()
SYLLABLES = "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu".split()


def _content_vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    words = set()
    while len(words) < size:
        parts = rng.choice(SYLLABLES, size=rng.integers(2, 5))
        words.add("".join(parts))
    ordered = sorted(words)
    rng.shuffle(ordered)  # frequency rank independent of spelling
    return ordered


def generate_stream(count: int, seed: int = 0, vocabulary: int = 40_000, burst_rate: float = 0.35) -> list[str]:
    """`count` candidate instructions; the same (count, seed) always gives the same list."""
    rng = np.random.default_rng(seed)
    content = _content_vocabulary(rng, vocabulary)
    ranks = np.arange(1, vocabulary + 1)
    zipf = 1.0 / ranks**1.05
    zipf /= zipf.sum()
    lengths = np.clip(np.round(rng.lognormal(mean=2.35, sigma=0.45, size=count)), 3, 120).astype(int)
    draws = rng.choice(vocabulary, size=int(lengths.sum()) * 2, p=zipf)
    function_draws = rng.integers(0, len(FUNCTION_WORDS), size=int(lengths.sum()) * 2)
    is_function = rng.random(size=int(lengths.sum()) * 2) < 0.4
    verbs = rng.integers(0, len(LEADING_VERBS), size=count)
    burst = rng.random(size=count) < burst_rate
    recent_pick = rng.integers(1, 64, size=count)
    edits = rng.geometric(0.55, size=count)
    replacements = rng.choice(vocabulary, size=4 * count, p=zipf)
    edit_kind = rng.random(size=4 * count)
    edit_position = rng.random(size=4 * count)
    edit_cursor = 0
    cursor = 0
    out: list[str] = []
    for i in range(count):
        if burst[i] and len(out) >= 64:
            words = out[-int(recent_pick[i])].split()
            for _ in range(min(int(edits[i]), 4)):
                k = edit_cursor % len(replacements)
                edit_cursor += 1
                position = int(edit_position[k] * len(words))
                choice = edit_kind[k]
                replacement = content[int(replacements[k])] if choice < 0.8 else FUNCTION_WORDS[0]
                if choice < 0.6:
                    words[position] = replacement
                elif choice < 0.8:
                    words.insert(position, replacement)
                elif len(words) > 3:
                    del words[position]
            out.append(" ".join(words))
            continue
        n = int(lengths[i])
        words = [LEADING_VERBS[int(verbs[i])]]
        for k in range(n - 1):
            j = cursor + k
            words.append(FUNCTION_WORDS[int(function_draws[j])] if is_function[j] else content[int(draws[j])])
        cursor += n
        text = " ".join(words)
        out.append(text[0].upper() + text[1:] + ".")
    return out


def write_jsonl(handle: TextIO, texts: list[str], first_id: int = 0) -> None:
    """The stream as the benchmarks feed it to `selfinstruct dedup`: one {"instruction", "id"} object per line."""
    handle.writelines(json.dumps({"instruction": text, "id": first_id + k}) + "\n" for k, text in enumerate(texts))
