"""Every brute-force path over pairs, one thread, CPU seconds: cdist, max_scores, top_k, Pool.

    python bench/bench_pair_paths.py             # 1,500 queries x 3,000 choices
    python bench/bench_pair_paths.py --quick

Reads ../shared/data/instructions/codealpaca_20k_subset.jsonl (outside the repository) when it is
there, and says so; otherwise generated instructions (bench/stream.py). Prints pairs per CPU
second (process time, the median of --repeats calls), so that two builds can be compared on a
busy machine by running this script with each, alternately.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import selfinstruct as si  # noqa: E402
from stream import generate_stream  # noqa: E402

CORPUS = HERE.parent.parent / "shared" / "data" / "instructions" / "codealpaca_20k_subset.jsonl"


def cpu_seconds(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 x 600 pairs")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if CORPUS.exists():
        print(f"texts: {CORPUS} (outside the repository)")
        texts = [json.loads(line)["instruction"] for line in CORPUS.open(encoding="utf-8") if line.strip()]
    else:
        print(f"({CORPUS} not present: generated instructions from bench/stream.py)")
        texts = generate_stream(4500, seed=1)
    width, rows = (600, 300) if args.quick else (3000, 1500)
    choices, queries = texts[:width], texts[width : width + rows]
    pool = si.Pool(threshold=1.0, threads=1)
    pool.add(choices)
    pool_queries = queries[: max(1, rows // 10)]

    def pool_scores() -> None:
        for query in pool_queries:
            pool.scores(query)

    def pool_most_similar() -> None:
        for query in pool_queries:
            pool.most_similar(query, k=5)

    cases = [
        ("cdist", len(queries), lambda: si.cdist(queries, choices, threads=1)),
        ("max_scores", len(queries), lambda: si.max_scores(queries, choices, threads=1)),
        ("top_k (k=5)", len(queries), lambda: si.top_k(queries, choices, k=5, threads=1)),
        ("Pool.scores (one query per call)", len(pool_queries), pool_scores),
        ("Pool.most_similar (k=5, one query per call)", len(pool_queries), pool_most_similar),
    ]
    print(f"{rows:,} queries x {width:,} choices, one thread, median of {args.repeats}")
    print("| path | pairs per CPU second |\n|---|---:|")
    for label, count, function in cases:
        seconds = cpu_seconds(function, args.repeats)
        print(f"| {label} | {count * width / seconds:,.0f} |")


if __name__ == "__main__":
    main()
