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


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


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
        load_s, _ = timed(lambda: load_parser())
        print(f"  load the pipeline: {load_s:.2f} s")
        for label, processes in (("first lines, 1 process", 1), ("first lines, 2 processes", 2)):
            seconds, counts = timed(lambda: count_verb_nouns(nlp, texts, model, processes=processes))
            rate = len(texts) / seconds
            print(f"  {label}: {seconds:.1f} s, {rate:,.0f} instructions/s, {sum(counts.pairs.values()):,} verb-noun pairs; "
                  f"{ALPACA_SIZE:,} instructions at this rate: {ALPACA_SIZE / rate:.0f} s (extrapolated)")
        whole = texts[:2000]
        seconds, _ = timed(lambda: list(nlp.pipe(whole, batch_size=256)))
        first, _ = timed(lambda: count_verb_nouns(nlp, whole, model))
        print(f"  first 2,000: whole instructions {seconds:.1f} s, first lines {first:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "instructions.jsonl"
        source.write_text("".join(json.dumps({"instruction": t}) + "\n" for t in texts), encoding="utf-8")
        for label, options in (("whole report", ReportOptions()), ("whole report, --sample 10000", ReportOptions(diversity_sample=10_000))):
            seconds, report = timed(lambda: build_report([source], options))
            write_s, _ = timed(lambda: write_report(report, Path(folder) / "report.html"))
            phases = ", ".join(f"{phase} {s:.1f} s" for phase, s in report.timings.items())
            print(f"{label}: {seconds + write_s:.1f} s ({phases}, HTML + PNGs {write_s:.1f} s)")


if __name__ == "__main__":
    main()
