"""How long `selfinstruct report` takes, phase by phase, on real English instruction corpora.

    python bench/bench_report.py              # the corpora in ../shared/data/instructions (English ones)
    python bench/bench_report.py --quick      # 2,000 instructions

Reads ../shared/data/instructions/*.jsonl (English corpora only: the verb-noun parse is English)
when present; otherwise it says so and uses generated instructions. Prints the time of each report
phase, the spaCy parse rate for 1 and 2 processes and for whole instructions against first lines,
and the time that rate implies for Alpaca's 52,002 instructions (extrapolated, marked as such).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "instructions"
ENGLISH = ("codealpaca_20k_subset", "codealpaca_2k", "gpteacher_roleplay", "gpteacher_toolformer",
           "instructionwild_en", "user_oriented_252")
ALPACA_SIZE = 52_002


def load_instructions() -> tuple[list[str], str]:
    if SHARED.is_dir():
        texts = []
        for name in ENGLISH:
            path = SHARED / f"{name}.jsonl"
            if path.exists():
                texts += [json.loads(line)["instruction"] for line in path.open(encoding="utf-8") if line.strip()]
        return list(dict.fromkeys(texts)), f"{SHARED} ({', '.join(ENGLISH)})"
    print(f"NOTE: {SHARED} not found: using generated instructions instead of real ones", file=sys.stderr)
    rng = random.Random(0)
    verbs = ["Write", "Explain", "List", "Describe", "Give", "Create", "Summarize", "Classify", "Find", "Suggest"]
    nouns = ["a poem", "the steps", "three tips", "a story", "an email", "the difference", "a plan", "a recipe"]
    topics = ["about the sea", "for a party", "of chess", "for saving money", "about robots", "of sleep"]
    texts = [f"{rng.choice(verbs)} {rng.choice(nouns)} {rng.choice(topics)} number {n}." for n in range(20_000)]
    return texts, "generated"


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (spaCy's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function):
    """(wall seconds, CPU seconds, result): on a shared machine CPU time is the steadier of the two."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    return time.perf_counter() - wall, cpu_seconds() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 instructions only")
    args = parser.parse_args()
    from selfinstruct.report import ReportOptions, build_report, write_report
    from selfinstruct.report.diversity import count_verb_nouns, load_parser

    texts, origin = load_instructions()
    if args.quick:
        texts = texts[:2000]
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"data: {len(texts):,} distinct instructions, mean {words:.1f} words, from {origin}")
    nlp, model = load_parser()
    if nlp is None:
        print(f"spaCy parse not measured: {model}")
    else:
        print(f"parser: {model}")
        load_s, load_cpu, _ = timed(lambda: load_parser())
        print(f"  load the pipeline: {load_s:.2f} s wall, {load_cpu:.2f} s CPU")
        for label, processes in (("first lines, 1 process", 1), ("first lines, 2 processes", 2)):
            wall, cpu, counts = timed(lambda: count_verb_nouns(nlp, texts, model, processes=processes))
            print(f"  {label}: {wall:.1f} s wall, {cpu:.1f} s CPU ({len(texts) / cpu:,.0f} instructions per CPU second), "
                  f"{sum(counts.pairs.values()):,} verb-noun pairs; {ALPACA_SIZE:,} instructions: "
                  f"{ALPACA_SIZE / len(texts) * cpu:.0f} CPU s (extrapolated)")
        whole = texts[:2000]
        _, whole_cpu, _ = timed(lambda: list(nlp.pipe(whole, batch_size=256)))
        _, first_cpu, _ = timed(lambda: count_verb_nouns(nlp, whole, model))
        print(f"  first 2,000, CPU s: whole instructions {whole_cpu:.1f}, first lines as the report parses {first_cpu:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "instructions.jsonl"
        source.write_text("".join(json.dumps({"instruction": t}) + "\n" for t in texts), encoding="utf-8")
        for label, options in (("whole report", ReportOptions()), ("whole report, --sample 10000", ReportOptions(diversity_sample=10_000))):
            wall, cpu, report = timed(lambda: build_report([source], options))
            write_s, write_cpu, _ = timed(lambda: write_report(report, Path(folder) / "report.html"))
            phases = ", ".join(f"{phase} {s:.1f}" for phase, s in report.timings.items())
            print(f"{label}: {wall + write_s:.1f} s wall, {cpu + write_cpu:.1f} s CPU "
                  f"(wall s: {phases}, HTML + PNGs {write_s:.1f})")


if __name__ == "__main__":
    main()
