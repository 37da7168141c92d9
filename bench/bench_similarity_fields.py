"""The exact similarity fields at scale: the batched C++ path against the per-admission path.

    python bench/bench_similarity_fields.py                    # pool of 100,000, the last 200 entries
    python bench/bench_similarity_fields.py --pool 1000000 --entries 40 --threads 1 2
    python bench/bench_similarity_fields.py --pool 1000000 --entries 400 --repeats 1   # one alternating run
    python bench/bench_similarity_fields.py --pool 1000000 --entries 4096 --repeats 1 --only-packed

A pool is grown by admission (threshold 0.7) from bench_scale.py's instruction stream (the
English corpora of ../shared/data when present, which the script says, then bench/stream.py's
generated stream). Then the fields of its last `--entries` entries, each against the pool
before it, are computed these ways in one run, alternating, each `--repeats` times (medians
reported):
- per admission: `SimilarityFields.fields` (one `Pool.scores` row on one thread, numpy's
  top-10 and mean) and the JSON line, as the pipeline did before the batched path;
- batched, one-row kernel: `Pool.similarity_fields(kernel="row")` in pieces of FINAL_PAIRS pairs
  per thread on each of `--threads`, then the same JSON lines (`SimilarityFields.work`);
- batched, packed: the final pass's pieces (`work(packed=True)`, at least `packed_piece_size`
  entries) with the default kernel, which packs the pool prefix once per piece;
and the lines are checked identical. Pairs are the useful ones (entry i: i pairs) on every path,
so the packed rate includes packing and the columns past each entry it scores for nothing.
`--only-packed` runs the packed paths alone (their lines checked against each other), for ranges
as large as the final pass's pieces. The time of packing the whole pool once (a packed call of one
entry) is printed too. Reported: pairs/s of each (wall clock), the ratio to per
admission in the same run, pairs per CPU-second of the process (the per-core rate, less disturbed
than wall time by other jobs on a shared machine), and what the per-core rate means for a 10^6
pool: how many cores keep pace with a given admission rate, and the core-hours of the exact
fields of a 10^6-instruction run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scale import SHARED, ENGLISH, machine_info, read_stream, write_stream  # noqa: E402

from selfinstruct import Pool  # noqa: E402
from selfinstruct.pipeline.similarity import FINAL_PAIRS, SimilarityFields  # noqa: E402


def grow_pool(size: int) -> Pool:
    stream = Path(tempfile.gettempdir()) / f"bench-scale-stream-{size}.txt"
    write_stream(stream, 4 * size + 100_000)  # admission keeps about 1 in 2 of this stream
    pool = Pool()
    texts = read_stream(stream)
    while len(pool) < size:
        pool.admit([next(texts) for _ in range(min(50_000, 2 * (size - len(pool)) + 100))])
    pool.truncate(size)
    return pool


def fields_for(pool: Pool, first: int, count: int, kernel: str = "auto") -> SimilarityFields:
    """A SimilarityFields whose pending admissions are pool entries first .. first+count-1."""
    fields = SimilarityFields(pool, first, Path(tempfile.mkdtemp(prefix="bench-similarity-")) / "fields.jsonl",
                              kernel=kernel)
    fields.recover(0)
    fields.add(count)
    return fields


Timing = tuple[float, float]  # (wall seconds, CPU seconds of every thread of the process)


def clock() -> Timing:
    return time.perf_counter(), time.process_time()


def since(start: Timing) -> Timing:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def per_admission(pool: Pool, first: int, count: int) -> tuple[Timing, list[str]]:
    fields = fields_for(pool, first, count)
    started = clock()
    lines = [json.dumps(fields.fields(a), ensure_ascii=False) + "\n" for a in range(count)]
    timing = since(started)
    shutil.rmtree(fields.path.parent)
    return timing, lines


def batched(pool: Pool, first: int, count: int, threads: int, packed: bool) -> tuple[Timing, list[str]]:
    fields = fields_for(pool, first, count, "auto" if packed else "row")
    started = clock()
    while fields.work(threads, FINAL_PAIRS, packed=packed):
        pass
    timing = since(started)
    fields.flush()  # outside the timing, as the per-admission path writes nothing either
    lines = list(fields.lines())
    shutil.rmtree(fields.path.parent)
    return timing, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=int, default=100_000, help="pool size (the range ends here)")
    parser.add_argument("--entries", type=int, default=200, help="entries whose fields are computed")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only-packed", action="store_true", help="skip the per-admission and one-row paths")
    args = parser.parse_args()
    found = [name for name in ENGLISH if (SHARED / f"{name}.jsonl").exists()]
    print(f"machine: {machine_info()}, numpy {np.__version__}; load average {os.getloadavg()[0]:.1f} at the start")
    print(f"stream: {'real corpora from ../shared/data (' + ', '.join(found) + '), then ' if found else ''}"
          f"bench/stream.py's generated stream{'' if found else ' only (../shared/data not found)'}")
    started = time.perf_counter()
    pool = grow_pool(args.pool)
    first = args.pool - args.entries
    pairs = args.entries * first + args.entries * (args.entries - 1) // 2
    print(f"pool of {len(pool):,} grown by admission in {time.perf_counter() - started:.1f} s; entries "
          f"{first:,}..{args.pool - 1:,}: {pairs:,} pairs")

    started_packing = clock()
    pool.similarity_fields(args.pool - 1, args.pool, threads=1, kernel="packed")
    packing = since(started_packing)
    print(f"packing the pool once (a packed call of one entry): {packing[0]:.2f} s wall, {packing[1]:.2f} s CPU")

    kernels = ("packed",) if args.only_packed else ("one-row", "packed")
    timings: dict[str, list[Timing]] = {} if args.only_packed else {"per admission": []}
    paths = [(kernel, t) for kernel in kernels for t in args.threads]
    timings.update({f"batched {kernel}, threads={t}": [] for kernel, t in paths})
    reference: list[str] | None = None
    for _ in range(args.repeats):  # interleaved, so load changes hit every path alike
        if not args.only_packed:
            timing, reference = per_admission(pool, first, args.entries)
            timings["per admission"].append(timing)
        for kernel, threads in paths:
            timing, lines = batched(pool, first, args.entries, threads, kernel == "packed")
            timings[f"batched {kernel}, threads={threads}"].append(timing)
            reference = lines if reference is None else reference
            if lines != reference:
                sys.exit(f"{kernel}, threads={threads}: the batched lines differ from the per-admission lines")
    print(f"lines identical on every path; load average {os.getloadavg()[0]:.1f} at the end")

    # Wall pairs/s (median), and pairs per CPU-second: per core, less disturbed by other jobs.
    wall = {name: pairs / statistics.median(t[0] for t in runs) for name, runs in timings.items()}
    cpu = {name: pairs / statistics.median(t[1] for t in runs) for name, runs in timings.items()}
    anchor = next(iter(timings))
    for name, runs in timings.items():
        print(f"{name}: {wall[name] / 1e6:.1f} M pairs/s, {wall[name] / wall[anchor]:.2f}x {anchor}; "
              f"{cpu[name] / 1e6:.1f} M pairs per CPU-second (wall runs {', '.join(f'{t[0]:.2f}' for t in runs)} s)")
    for kernel in kernels:
        core = min(rate for name, rate in cpu.items() if name.startswith(f"batched {kernel}"))
        print(f"\n{kernel}: at a pool of 10^6 each admission costs 10^6 pairs; at {core / 1e6:.1f} M pairs/s per "
              f"core (the lowest batched {kernel} pairs per CPU-second above):")
        for rate in (10, 100, 1000, 3333):
            print(f"  {rate:>5} admissions/s need {rate * 1e6 / core:,.1f} cores")
        for cores in (2, 16, 64):
            print(f"  {cores:>3} cores keep pace with {cores * core / 1e6:,.1f} admissions/s")
        total = 10**6 * (10**6 - 1) / 2 + 175 * 10**6
        print(f"  a 10^6-instruction run (175 seeds): {total:.2e} pairs = {total / core / 3600:,.1f} core-hours, "
              f"{total / core / 3600 / 16:,.2f} h on 16 cores")


if __name__ == "__main__":
    main()
