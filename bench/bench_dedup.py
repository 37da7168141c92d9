"""ROUGE-L deduplication benchmark: ours against rouge-score and rapidfuzz, same data, same run.

    python bench/bench_dedup.py                 # everything (1M stream included: a few minutes)
    python bench/bench_dedup.py --quick         # smaller sizes, for a smoke run

Sections: (1) brute-force pair kernel, (2) greedy admission of the real corpora in
../shared/data/instructions (outside the repository; skipped, saying so, when absent), (3) the generated 1,000,000-candidate stream, timed in a
child process so its peak RSS is its own. Each timing is the median of --repeats runs; every
section checks that the decisions are identical to the anchors'.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import selfinstruct as si  # noqa: E402
from anchors import intern_as_strings, rapidfuzz_cdist_f, rapidfuzz_greedy, rouge_score_greedy, rouge_score_pairs_per_second  # noqa: E402
from stream import generate_stream  # noqa: E402

SHARED = HERE.parent.parent / "shared" / "data"


def median_time(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def load_corpora() -> dict[str, list[str]]:
    corpora: dict[str, list[str]] = {}
    folder = SHARED / "instructions"
    if folder.is_dir():
        for path in sorted(folder.glob("*.jsonl")):
            corpora[path.stem] = [json.loads(line)["instruction"] for line in path.open(encoding="utf-8") if line.strip()]
    seeds = SHARED / "seed_tasks.jsonl"
    if seeds.exists():
        corpora["seed_tasks"] = [json.loads(line)["instruction"] for line in seeds.open(encoding="utf-8") if line.strip()]
    return corpora


def kernel_section(texts: list[str], size: int, repeats: int, threads: int) -> dict:
    sample = texts[:size]
    encoded = intern_as_strings(sample)
    pairs = len(sample) ** 2
    ours_s, ours = median_time(lambda: si.cdist(sample, sample, threads=threads), repeats)
    rf_s, rf = median_time(lambda: rapidfuzz_cdist_f(encoded, encoded, workers=threads), repeats)
    from rapidfuzz import distance, process

    rf_raw_s, _ = median_time(
        lambda: process.cdist(encoded, encoded, scorer=distance.LCSseq.similarity, workers=threads, dtype=np.int32), repeats
    )
    rouge_pps = rouge_score_pairs_per_second(sample, 5000)
    return {
        "pairs": pairs,
        "mean_tokens": float(np.mean([len(e) for e in encoded])),
        "ours_pairs_per_s": pairs / ours_s,
        "rapidfuzz_f_pairs_per_s": pairs / rf_s,
        "rapidfuzz_lcs_only_pairs_per_s": pairs / rf_raw_s,
        "rouge_score_pairs_per_s": rouge_pps,
        "identical": bool(np.array_equal(ours, rf)),
    }


def corpora_section(corpora: dict[str, list[str]], repeats: int, threads: int, reference_limit: int) -> dict:
    rows = {}
    for name, texts in corpora.items():
        ours_s, result = median_time(lambda: si.Pool(threads=threads).admit(texts), repeats)
        encoded = intern_as_strings(texts)
        rf_s, rf_admitted = median_time(lambda: rapidfuzz_greedy(encoded, workers=threads), 1)
        row = {
            "candidates": len(texts),
            "kept": result.num_admitted,
            "ours_s": ours_s,
            "rapidfuzz_s": rf_s,
            "identical_to_rapidfuzz": bool(np.array_equal(result.admitted, rf_admitted)),
        }
        head = texts[:reference_limit]
        ref_s, ref_admitted = median_time(lambda: rouge_score_greedy(head), 1)
        row["rouge_score_first_n"] = len(head)
        row["rouge_score_s"] = ref_s
        row["identical_to_rouge_score"] = bool(np.array_equal(si.Pool(threads=threads).admit(head).admitted, ref_admitted))
        rows[name] = row
    all_texts = [text for texts in corpora.values() for text in texts]
    together_s, together = median_time(lambda: si.Pool(threads=threads).admit(all_texts), repeats)
    return {"corpora": rows, "all_together": {"candidates": len(all_texts), "kept": together.num_admitted, "ours_s": together_s}}


def coverage_section(corpora: dict[str, list[str]], threads: int) -> dict:
    """Texts without reference tokens per corpus, and what admission does with them under each tokenizer."""
    rows = {}
    for name, texts in corpora.items():
        counts = [len(si.tokenize(text)) for text in texts]
        rouge = si.Pool(threads=threads).admit(texts)
        unicode = si.Pool(tokenizer="unicode", threads=threads).admit(texts)
        rows[name] = {
            "candidates": len(texts),
            "no_tokens": sum(count == 0 for count in counts),
            "at_most_one": sum(count <= 1 for count in counts),
            "rejected_at_most_one": int(sum(1 for k, count in enumerate(counts) if count <= 1 and not rouge.admitted[k])),
            "kept_rouge": rouge.num_admitted,
            "kept_unicode": unicode.num_admitted,
        }
    return rows


CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
import selfinstruct as si
from stream import generate_stream
texts = generate_stream({count})
started = time.perf_counter()
pool = si.Pool(threads={threads})
kept = 0
for start in range(0, len(texts), {batch}):
    kept += pool.admit(texts[start:start + {batch}]).num_admitted
seconds = time.perf_counter() - started
# VmHWM is this process's own peak (ru_maxrss would carry the parent's peak across exec).
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": seconds, "kept": kept, "rss_mb": peak_kb / 1024, "stats": pool.stats()}}))
"""


def stream_section(count: int, repeats: int, threads: int, batch: int, anchor_size: int, reference_size: int) -> dict:
    runs = []
    for _ in range(repeats):
        code = CHILD.format(here=str(HERE), count=count, threads=threads, batch=batch)
        output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    seconds = statistics.median(run["seconds"] for run in runs)
    texts = generate_stream(count)
    head = texts[:anchor_size]
    ours_head_s, ours_head = median_time(lambda: si.Pool(threads=threads).admit(head), repeats)
    rf_head_s, rf_admitted = median_time(lambda: rapidfuzz_greedy(intern_as_strings(head), workers=threads), 1)
    small = texts[:reference_size]
    ref_s, ref_admitted = median_time(lambda: rouge_score_greedy(small), 1)
    ours_small_s, ours_small = median_time(lambda: si.Pool(threads=threads).admit(small), repeats)
    return {
        "candidates": count,
        "threads": threads,
        "seconds_median": seconds,
        "seconds_all": [run["seconds"] for run in runs],
        "kept": runs[0]["kept"],
        "rss_mb_max": max(run["rss_mb"] for run in runs),
        "stats": runs[0]["stats"],
        "head": {
            "candidates": anchor_size,
            "ours_s": ours_head_s,
            "rapidfuzz_s": rf_head_s,
            "identical_to_rapidfuzz": bool(np.array_equal(ours_head.admitted, rf_admitted)),
        },
        "reference": {
            "candidates": reference_size,
            "ours_s": ours_small_s,
            "rouge_score_s": ref_s,
            "identical_to_rouge_score": bool(np.array_equal(ours_small.admitted, ref_admitted)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stream-size", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--kernel-only", action="store_true", help="run section 1 (the pair kernel) only")
    args = parser.parse_args()
    if args.quick:
        args.stream_size = min(args.stream_size, 50_000)
        args.repeats = 1

    print(f"# selfinstruct dedup benchmark — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads={args.threads}")
    corpora = load_corpora()
    kernel_texts = corpora.get("codealpaca_20k_subset")
    if kernel_texts is None:
        print(f"({SHARED / 'instructions' / 'codealpaca_20k_subset.jsonl'} not present: the pair kernel runs on 3,000 generated instructions)")
        kernel_texts = generate_stream(3000, seed=1)
    kernel = kernel_section(kernel_texts, 1000 if args.quick else 3000, args.repeats, args.threads)
    print("\n## Brute-force pair kernel (all pairs, F matrix)")
    print(f"{kernel['pairs']:,} pairs, mean {kernel['mean_tokens']:.1f} tokens; identical to rapidfuzz+reference F: {kernel['identical']}")
    print("| engine | pairs/s | ours ÷ engine |\n|---|---:|---:|")
    for label, key in (
        ("selfinstruct.cdist", "ours_pairs_per_s"),
        ("rapidfuzz cdist LCSseq + numpy F", "rapidfuzz_f_pairs_per_s"),
        ("rapidfuzz cdist LCSseq (LCS only)", "rapidfuzz_lcs_only_pairs_per_s"),
        ("rouge-score loop", "rouge_score_pairs_per_s"),
    ):
        print(f"| {label} | {kernel[key]:,.0f} | {kernel['ours_pairs_per_s'] / kernel[key]:.1f}× |")

    results = {"kernel": kernel}
    if args.kernel_only:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
    if corpora:
        section = corpora_section(corpora, args.repeats, args.threads, 100 if args.quick else 400)
        results["corpora"] = section
        print("\n## Greedy admission of the real corpora (empty pool, threshold 0.7)")
        print("| corpus | candidates | kept | ours s | rapidfuzz s | ratio | same as rapidfuzz | rouge-score s (first N) | same as rouge-score |")
        print("|---|---:|---:|---:|---:|---:|---|---:|---|")
        for name, row in section["corpora"].items():
            print(
                f"| {name} | {row['candidates']:,} | {row['kept']:,} | {row['ours_s']:.3f} | {row['rapidfuzz_s']:.2f} | "
                f"{row['rapidfuzz_s'] / row['ours_s']:.0f}× | {row['identical_to_rapidfuzz']} | "
                f"{row['rouge_score_s']:.2f} ({row['rouge_score_first_n']}) | {row['identical_to_rouge_score']} |"
            )
        together = section["all_together"]
        print(f"\nAll corpora as one stream: {together['candidates']:,} candidates, {together['kept']:,} kept, {together['ours_s']:.3f} s")
        coverage = coverage_section(corpora, args.threads)
        results["coverage"] = coverage
        print("\n## Texts without reference tokens (what `selfinstruct dedup` warns about)")
        print("| corpus | candidates | no tokens | <= 1 token | rejected with <= 1 token | kept (rouge) | kept (unicode) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, row in coverage.items():
            print(f"| {name} | {row['candidates']:,} | {row['no_tokens']:,} | {row['at_most_one']:,} | "
                  f"{row['rejected_at_most_one']:,} | {row['kept_rouge']:,} | {row['kept_unicode']:,} |")
    else:
        print(f"\n({SHARED} not present: the real-corpus section is skipped)")

    stream = stream_section(args.stream_size, args.repeats, args.threads, 100_000, 20_000 if not args.quick else 5000, 300 if args.quick else 1000)
    results["stream"] = stream
    print(f"\n## Generated stream: {stream['candidates']:,} candidates (near-duplicate bursts), threads={stream['threads']}")
    print(
        f"ours: median {stream['seconds_median']:.1f} s (runs {', '.join(f'{s:.1f}' for s in stream['seconds_all'])}), "
        f"{stream['candidates'] / stream['seconds_median']:,.0f} candidates/s, kept {stream['kept']:,}, peak RSS {stream['rss_mb_max']:,.0f} MB"
    )
    head, ref = stream["head"], stream["reference"]
    print(
        f"first {head['candidates']:,}: ours {head['ours_s']:.2f} s, rapidfuzz {head['rapidfuzz_s']:.1f} s "
        f"({head['rapidfuzz_s'] / head['ours_s']:.0f}×), identical: {head['identical_to_rapidfuzz']}"
    )
    print(
        f"first {ref['candidates']:,}: ours {ref['ours_s']:.3f} s, rouge-score loop {ref['rouge_score_s']:.1f} s "
        f"({ref['rouge_score_s'] / ref['ours_s']:.0f}×), identical: {ref['identical_to_rouge_score']}"
    )
    print(f"work counters: {stream['stats']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
