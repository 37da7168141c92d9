"""Admission of long texts: N texts of L tokens from a Zipf vocabulary, admitted from an empty pool,
then a batch of exact duplicates of the first ones (all rejected).

    python bench/bench_long_texts.py                  # N = 20,000, L = 1,000, threads = 2
    python bench/bench_long_texts.py --n 100000       # the issue's scale (minutes on 2 cores)

Prints wall and CPU seconds, ms per candidate by pool-size decile, the pool's work counters and
the peak RSS. Generated text only (no corpus needed): tokens t0..t{V-1} drawn with p ~ 1/rank.
"""
from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np

import selfinstruct as si


def zipf_texts(count: int, length: int, vocabulary: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocabulary + 1)
    weights /= weights.sum()
    out: list[str] = []
    for start in range(0, count, 1000):
        rows = rng.choice(vocabulary, size=(min(1000, count - start), length), p=weights)
        out.extend(" ".join(f"t{token}" for token in row) for row in rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="texts admitted from an empty pool")
    parser.add_argument("--length", type=int, default=1_000, help="tokens per text")
    parser.add_argument("--vocabulary", type=int, default=30_000)
    parser.add_argument("--duplicates", type=int, default=2_000, help="exact duplicates admitted afterwards")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.7)
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    texts = zipf_texts(args.n, args.length, args.vocabulary, seed=0)
    pool = si.Pool(threshold=args.threshold, threads=args.threads)
    deciles = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    step = max(1, args.n // 10)
    for start in range(0, args.n, step):
        began = time.perf_counter()
        pool.admit(texts[start:start + step])
        deciles.append((len(pool), (time.perf_counter() - began) / len(texts[start:start + step]) * 1e3))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"admitted {len(pool):,} of {args.n:,} texts of {args.length} tokens: {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"(threads={args.threads})")
    print("ms per candidate by decile (pool size after):", ", ".join(f"{size:,}: {ms:.2f}" for size, ms in deciles))
    duplicates = texts[: args.duplicates]
    began = time.perf_counter()
    result = pool.admit(duplicates)
    seconds = time.perf_counter() - began
    print(f"{len(duplicates):,} exact duplicates: {seconds:.2f} s ({seconds / len(duplicates) * 1e3:.2f} ms each), "
          f"admitted {result.num_admitted}")
    print("counters:", pool.stats())
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
