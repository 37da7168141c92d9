"""RougeScorer against rouge-score 0.1.2, same pairs, same process, same run.

    python bench/bench_scorer.py              # the real pairs when ../shared/data is present
    python bench/bench_scorer.py --quick      # fewer pairs and repeats, for a smoke run
    python bench/bench_scorer.py --check-all-types   # no timing: all 11 types == rouge-score's

Pairs: the reference output of each of the 252 user-oriented instructions (target) against each of
the 8 models' responses to it (prediction): 2,016 pairs, read from ../shared/data/ when present
(not part of the project), else generated text of similar lengths (said so in the output).
Types rouge1, rouge2, rougeL, rougeLsum with the stemmer, as the evaluation scripts use them.
Every timing is the median of --repeats runs; "cold" runs start from a fresh scorer (every
distinct token is stemmed once), "warm" ones reuse a scorer that has seen the tokens.
All our scores are checked == rouge-score's before any time is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np

import selfinstruct as si

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def real_pairs() -> tuple[list[str], list[str]] | None:
    references = SHARED / "user_oriented_instructions.jsonl"
    models = sorted((SHARED / "human_eval").glob("*_predictions.jsonl"))
    if not references.exists() or not models:
        return None
    outputs = [json.loads(line)["instances"][0]["output"] for line in references.open(encoding="utf-8") if line.strip()]
    targets, predictions = [], []
    for path in models:
        rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        assert len(rows) == len(outputs), f"{path}: {len(rows)} responses for {len(outputs)} instructions"
        targets.extend(outputs)
        predictions.extend(row["response"] for row in rows)
    return targets, predictions


def generated_pairs(count: int = 2016, seed: int = 0) -> tuple[list[str], list[str]]:
    """Multi-line English-like text: targets ~50 words, predictions ~120 (long tail)."""
    rng = np.random.default_rng(seed)
    stems = [f"w{k}" for k in range(3000)]
    suffixes = ["", "", "s", "ing", "ed", "ly", "ness", "ation"]

    def text(words: int) -> str:
        picks = rng.zipf(1.3, size=words) % len(stems)
        tokens = [stems[p] + suffixes[rng.integers(len(suffixes))] for p in picks]
        lines = [" ".join(tokens[i : i + 15]) + "." for i in range(0, len(tokens), 15)]
        return "\n".join(lines)

    targets = [text(int(rng.integers(5, 100))) for _ in range(count)]
    predictions = [text(int(rng.lognormal(4.2, 1.0)) + 1) for _ in range(count)]
    return targets, predictions


def median_time(function: Callable[[], object], repeats: int) -> tuple[float, float, list[float]]:
    """Median wall seconds, median CPU seconds of this process (all threads), and the wall times."""
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), walls


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def check_all_types(targets: list[str], predictions: list[str]) -> None:
    """Every score of every type, from score() and score_batch(), == rouge-score's."""
    from rouge_score import rouge_scorer

    types = list(si.rouge_scorer.ROUGE_TYPES)
    for stem in (False, True):
        ours = si.RougeScorer(types, use_stemmer=stem)
        reference = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        batch = ours.score_batch(targets, predictions)
        differ = 0
        for i, (target, prediction) in enumerate(zip(targets, predictions)):
            expected, single = reference.score(target, prediction), ours.score(target, prediction)
            for name in types:
                in_batch = tuple(batch[name][field][i] for field in ("precision", "recall", "fmeasure"))
                differ += tuple(single[name]) != tuple(expected[name]) or in_batch != tuple(expected[name])
        print(f"use_stemmer={stem}: {len(targets)} pairs x {len(types)} types, {differ} scores differ from rouge-score's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every 8th pair, 1 reference repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of our timings (median)")
    parser.add_argument("--reference-repeats", type=int, default=3, help="repeats of rouge-score's (median)")
    parser.add_argument(
        "--check-all-types", action="store_true",
        help="instead of timing: check all 11 types, stemmer off and on, on every 3rd pair",
    )
    args = parser.parse_args()
    from rouge_score import rouge_scorer

    pairs = real_pairs()
    if pairs is None:
        print(f"NOTE: {SHARED} not found: using GENERATED text, not the user-oriented pairs")
        pairs = generated_pairs()
        source = "generated"
    else:
        source = "user-oriented references x 8 models' responses"
    targets, predictions = pairs
    if args.quick:
        targets, predictions = targets[::8], predictions[::8]
        args.repeats, args.reference_repeats = 3, 1
    count = len(targets)
    words = [len(t.split()) + len(p.split()) for t, p in zip(targets, predictions)]
    print(f"{machine()}; load average {os.getloadavg()[0]:.2f}")
    if args.check_all_types:
        check_all_types(targets[::3], predictions[::3])
        return
    print(f"{count} pairs ({source}), mean {statistics.mean(words):.0f} words per pair; types {TYPES}, stemmer on")

    started = time.perf_counter()
    si.RougeScorer(TYPES, use_stemmer=True)
    print(f"first construction in the process (checks the compiled stemmer against NLTK): {time.perf_counter() - started:.3f} s")
    reference = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    expected: list = []

    def run_reference() -> None:
        expected[:] = [reference.score(t, p) for t, p in zip(targets, predictions)]

    reference_s, reference_cpu, reference_runs = median_time(run_reference, args.reference_repeats)

    # Exactness first: our loop and our batch give rouge-score's floats on every pair.
    ours = si.RougeScorer(TYPES, use_stemmer=True)
    batch = ours.score_batch(targets, predictions, threads=None)
    for i, (t, p) in enumerate(zip(targets, predictions)):
        single = ours.score(t, p)
        for name in TYPES:
            assert tuple(single[name]) == tuple(expected[i][name]), (i, name)
            assert batch[name]["fmeasure"][i] == expected[i][name].fmeasure, (i, name)
    print(f"checked: all {count} x {len(TYPES)} scores == rouge-score's (score and score_batch)")
    from nltk.stem.porter import PorterStemmer

    nltk_stem = PorterStemmer().stem
    vocabulary = sorted({token for text in targets + predictions for token in si.tokenize(text) if len(token) > 3})
    differing = [word for word in vocabulary if si._core.porter_stem(word) != nltk_stem(word)]
    print(f"compiled Porter stemmer vs NLTK on the {len(vocabulary)} distinct stemmed tokens: {len(differing)} differ")

    def loop(scorer: si.RougeScorer) -> None:
        for t, p in zip(targets, predictions):
            scorer.score(t, p)

    warm = si.RougeScorer(TYPES, use_stemmer=True)
    loop(warm)
    runs = {
        "score() loop, cold": lambda: loop(si.RougeScorer(TYPES, use_stemmer=True)),
        "score() loop, warm": lambda: loop(warm),
        "score_batch 1 thread, cold": lambda: si.RougeScorer(TYPES, use_stemmer=True).score_batch(targets, predictions, threads=1),
        "score_batch 1 thread, warm": lambda: warm.score_batch(targets, predictions, threads=1),
        f"score_batch {os.cpu_count()} threads, cold": lambda: si.RougeScorer(TYPES, use_stemmer=True).score_batch(targets, predictions),
        f"score_batch {os.cpu_count()} threads, warm": lambda: warm.score_batch(targets, predictions),
    }
    # Wall time is what a user waits; on a loaded machine the CPU time of single-threaded runs is
    # the steadier comparison (for threaded runs it sums the threads, so it is left out).
    print("\n| run | median wall s | pairs/s | x rouge-score (wall) | median CPU s | x rouge-score (CPU) | wall runs (s) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(
        f"| rouge-score 0.1.2 | {reference_s:.3f} | {count / reference_s:,.0f} | 1 | {reference_cpu:.3f} | 1 "
        f"| {' '.join(f'{r:.2f}' for r in reference_runs)} |"
    )
    for name, function in runs.items():
        seconds, cpu, times = median_time(function, args.repeats)
        threaded = "threads" in name
        cpu_cells = "| — | — " if threaded else f"| {cpu:.4f} | {reference_cpu / cpu:,.0f} "
        print(
            f"| {name} | {seconds:.4f} | {count / seconds:,.0f} | {reference_s / seconds:,.0f} {cpu_cells}"
            f"| {' '.join(f'{r:.4f}' for r in times)} |"
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
