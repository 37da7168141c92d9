"""Thread scaling of admission on the generated 1,000,000-candidate stream.

    python bench/bench_threads.py                       # threads 1, 2, ..., all cores; one admit call of 1M
    python bench/bench_threads.py --threads 1,2 --repeats 3 --size 200000

Each run is a child process (its own peak RSS) that admits the whole stream in one `Pool.admit`
call with a given thread count. Decisions must be identical for every thread count: each child
prints a digest of its admitted mask and the parent checks they all agree. Speed-ups are against
threads=1 measured in the same run; timings are medians of --repeats. The admission's CPU time (all
threads) shows what more threads cost: the same work takes more CPU time where the threads compete
for what the cores share (caches, memory), while time a thread waits for the others shows in the
wall time only. A second table splits each
run by step of admission (Pool.timings(): tokenizing, indexing the admitted entries, probing the
pool, matching within chunks, deciding), so that the steps that scale poorly show.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stream import generate_stream  # noqa: E402

CHILD = """
import hashlib, json, sys, time
import selfinstruct as si
texts = open(sys.argv[1], encoding="utf-8").read().split("\\n")[:-1]
pool = si.Pool(threads=int(sys.argv[2]))
started, cpu_started = time.perf_counter(), time.process_time()
result = pool.admit(texts)
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
digest = hashlib.sha256(result.admitted.tobytes()).hexdigest()[:16]
print(json.dumps({"seconds": seconds, "cpu": cpu, "kept": result.num_admitted, "digest": digest, "rss_mb": peak_kb / 1024,
                  "steps": pool.timings()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--threads", default=None, help="comma-separated thread counts (default: 1..cores)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")] if args.threads else list(range(1, (os.cpu_count() or 1) + 1))
    print(f"# admission thread scaling — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; {args.size:,} candidates in one admit call, median of {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as folder:
        path = Path(folder) / "stream.txt"  # the stream's texts have no newlines: one per line
        path.write_text("".join(text + "\n" for text in generate_stream(args.size)), encoding="utf-8")
        rows = {}
        for threads in counts:
            runs = []
            for _ in range(args.repeats):
                output = subprocess.run([sys.executable, "-c", CHILD, str(path), str(threads)],
                                        capture_output=True, text=True, check=True).stdout
                runs.append(json.loads(output.strip().splitlines()[-1]))
            rows[threads] = runs
    base = statistics.median(run["seconds"] for run in rows[counts[0]])
    base_cpu = statistics.median(run["cpu"] for run in rows[counts[0]])
    print(f"| threads | median s | runs | speed-up vs threads={counts[0]} | CPU s (median) | CPU ÷ threads={counts[0]}'s "
          "| kept | peak RSS MB |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for threads, runs in rows.items():
        seconds = statistics.median(run["seconds"] for run in runs)
        cpu = statistics.median(run["cpu"] for run in runs)
        listed = ", ".join(f"{run['seconds']:.1f}" for run in runs)
        print(f"| {threads} | {seconds:.1f} | {listed} | {base / seconds:.2f}× | {cpu:.1f} | {cpu / base_cpu:.2f}× | "
              f"{runs[0]['kept']:,} | {max(run['rss_mb'] for run in runs):,.0f} |")
    steps = list(rows[counts[0]][0]["steps"])
    print(f"\nper step: median s (speed-up vs threads={counts[0]})")
    print("| threads | " + " | ".join(steps) + " |")
    print("|---:|" + "---:|" * len(steps))
    base_steps = {step: statistics.median(run["steps"][step] for run in rows[counts[0]]) for step in steps}
    for threads, runs in rows.items():
        cells = []
        for step in steps:
            seconds = statistics.median(run["steps"][step] for run in runs)
            cells.append(f"{seconds:.2f} ({base_steps[step] / seconds:.2f}×)" if seconds > 0 else "0")
        print(f"| {threads} | " + " | ".join(cells) + " |")
    digests = {run["digest"] for runs in rows.values() for run in runs}
    print(f"decisions identical for every thread count: {len(digests) == 1}")


if __name__ == "__main__":
    main()
