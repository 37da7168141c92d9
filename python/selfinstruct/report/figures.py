"""The data of every figure, as plain JSON-ready dicts that both the HTML page and the PNGs draw.

Kinds: "histogram" (labelled bins, one count list per source, drawn as shares so sources of any
size compare), "sunburst" (verbs with their nouns), "funnel" (per step: candidates, drops by
reason with examples, kept) and "line" (points per series).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from .diversity import VerbNounCounts, top_pairs
from .runlogs import RunLogs
from .sources import Dataset
from .stats import is_empty_input, words

Figure = dict[str, Any]
NOVELTY_BINS = 20
LENGTH_BINS = 30
POOL_STEPS = ("generate-instructions", "generate-tasks")  # the steps whose admissions grow the ROUGE-L pool


def _histogram(fig_id: str, title: str, x_label: str, labels: list[str], series: list[tuple[str, list[int]]], note: str = "") -> Figure:
    return {"id": fig_id, "kind": "histogram", "title": title, "x_label": x_label, "y_label": "share",
            "labels": labels, "note": note,
            "series": [{"name": name, "counts": counts, "total": int(sum(counts))} for name, counts in series]}


def novelty_figure(scores: Sequence[tuple[str, np.ndarray]], seed_label: str) -> Figure:
    """Histogram of each instruction's ROUGE-L F to its most similar seed, in bins of 0.05 (1.0 in the last)."""
    edges = np.linspace(0.0, 1.0, NOVELTY_BINS + 1)
    labels = [f"{low:.2f}–{high:.2f}" for low, high in zip(edges[:-1], edges[1:])]
    series = []
    for name, values in scores:
        bins = np.minimum((np.asarray(values) * NOVELTY_BINS).astype(int), NOVELTY_BINS - 1)
        series.append((name, np.bincount(bins, minlength=NOVELTY_BINS).tolist()))
    return _histogram("novelty", "ROUGE-L to the most similar seed instruction", f"ROUGE-L F vs {seed_label}",
                      labels, series)


def _length_bins(samples: list[list[int]]) -> tuple[int, int]:
    """(bin width, number of bins): about LENGTH_BINS bins up to the 99th percentile of all sources."""
    values = [value for sample in samples for value in sample]
    cap = int(math.ceil(float(np.percentile(values, 99)))) + 1 if values else 1
    width = max(1, math.ceil(cap / LENGTH_BINS))
    return width, max(1, math.ceil(cap / width))


def length_figure(fig_id: str, title: str, samples: list[tuple[str, list[int]]]) -> Figure:
    """Histogram of word counts, integer bins; the last bin holds everything above the 99th percentile."""
    width, count = _length_bins([sample for _, sample in samples])
    labels = [str(i * width) if width == 1 else f"{i * width}–{(i + 1) * width - 1}" for i in range(count)]
    labels[-1] = f"≥{(count - 1) * width}"
    series = [(name, np.bincount(np.minimum(np.asarray(sample, dtype=int) // width, count - 1),
                                 minlength=count).tolist() if sample else [0] * count) for name, sample in samples]
    return _histogram(fig_id, title, "whitespace-separated words", labels, series)


def length_figures(datasets: Sequence[Dataset]) -> list[Figure]:
    """Instruction (distinct), non-empty input and output lengths; sources without instances skip the last two."""
    figures = [length_figure("length-instruction", "Instruction length",
                             [(d.name, [words(t) for t in d.instructions]) for d in datasets])]
    with_instances = [d for d in datasets if d.instances]
    if with_instances:
        figures.append(length_figure("length-input", "Input length (non-empty inputs)", [
            (d.name, [words(x) for _, x, _ in d.instances if not is_empty_input(x)]) for d in with_instances]))
        figures.append(length_figure("length-output", "Output length",
                                     [(d.name, [words(y) for _, _, y in d.instances]) for d in with_instances]))
    return [figure for figure in figures if any(s["total"] for s in figure["series"])]


def sunburst_figure(index: int, name: str, counts: VerbNounCounts) -> Optional[Figure]:
    """The top 20 verbs (inner ring) and their top 4 direct-object nouns (outer ring); None without pairs."""
    top = top_pairs(counts.pairs)
    if not top:
        return None
    total = sum(counts.pairs.values())
    return {"id": f"diversity-{index}", "kind": "sunburst", "title": f"Verb–noun structure: {name}",
            "source": name, "parsed": counts.parsed, "pairs": total, "model": counts.model,
            "verbs": [{"name": verb, "count": n, "nouns": [{"name": noun, "count": c} for noun, c in nouns]}
                      for verb, n, nouns in top]}


def funnel_figure(index: int, name: str, logs: RunLogs, kept: dict[str, int]) -> Optional[Figure]:
    """Per step: candidates, what each drop reason removed (commonest first, with examples), what was kept.

    Candidates and kept come from progress.jsonl where it has the step, else kept from `kept`
    (the run's output counts) and candidates = kept + drops.
    """
    steps = []
    for step in logs.steps():
        drops = logs.drops.get(step, {})
        batches = [b for b in logs.batches if b["step"] == step]
        kept_here = sum(b["admitted"] for b in batches) if batches else kept.get(step)
        dropped = sum(drops.values())
        candidates = sum(b["candidates"] for b in batches) if batches else (None if kept_here is None else kept_here + dropped)
        reasons = [{"reason": reason, "count": count,
                    "examples": [vars(example) for example in logs.examples.get((step, reason), [])]}
                   for reason, count in sorted(drops.items(), key=lambda item: (-item[1], item[0]))]
        if reasons or candidates:
            steps.append({"step": step, "candidates": candidates, "kept": kept_here, "reasons": reasons})
    if not steps:
        return None
    return {"id": f"funnel-{index}", "kind": "funnel", "title": f"What each step dropped: {name}", "steps": steps}


def _line(fig_id: str, title: str, x_label: str, y_label: str, series: list[tuple[str, list[list[float]]]]) -> Optional[Figure]:
    series = [(name, points) for name, points in series if points]
    if not series:
        return None
    return {"id": fig_id, "kind": "line", "title": title, "x_label": x_label, "y_label": y_label,
            "series": [{"name": name, "points": points} for name, points in series]}


def admission_figure(index: int, name: str, logs: RunLogs) -> Optional[Figure]:
    """Admitted / candidates per batch against the pool size after the batch, per step that grows the pool."""
    series = []
    for step in [step for step in logs.steps() if step in POOL_STEPS]:
        points = [[b["pool_size"], b["admitted"] / b["candidates"]] for b in logs.batches
                  if b["step"] == step and b["candidates"] > 0 and b["pool_size"] > 0]
        series.append((step, points))
    return _line(f"admission-{index}", f"Admission rate as the pool grew: {name}", "pool size (machine instructions)",
                 "admitted / candidates", series)


def throughput_figure(index: int, name: str, logs: RunLogs) -> Optional[Figure]:
    """Completion tokens per second of each batch, per step."""
    series = []
    for step in logs.steps():
        points = [[b["batch"], b["completion_tokens"] / b["seconds"]] for b in logs.batches
                  if b["step"] == step and b["seconds"] > 0 and b["completion_tokens"] > 0]
        series.append((step, points))
    return _line(f"throughput-{index}", f"Generation speed per batch: {name}", "batch", "completion tokens / s", series)
