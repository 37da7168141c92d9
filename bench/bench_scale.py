"""Step 1 at scale with a replay backend: what the driver costs per admitted instruction.

    python bench/bench_scale.py                      # N = 100,000, default flags and --no-similarity-fields
    python bench/bench_scale.py --sizes 100000 1000000 --modes no-fields

The replay backend answers every instruction prompt at once with the next 7 instructions of a
near-duplicate-rich stream, so only the driver costs time: prompt building, parsing, filters,
exact ROUGE-L admission, the fsynced journal and run logs. The stream starts with the English
instruction corpora of ../shared/data/instructions (outside the repository, real near-duplicates;
the script says whether it found them) and continues with bench/stream.py's generated stream.

Each configuration runs in its own process (so peak RSS is its own) through the public API,
`generate_instructions(config, backend)`, with a window of 512 requests in flight. Reported:
- driver ms per admitted by pool-size decile, from progress.jsonl (each batch's wall seconds over
  its admissions: the critical path, since the engine takes no time), and the same in CPU time
  (each batch's `cpu_seconds`: the process's CPU time, which other jobs on a loaded machine do not
  inflate the way they inflate wall time), with the load average before and after each run, and
  how much of that CPU time the exact admission itself took (Pool.admit, timed here, also by decile);
- the time after the loop (the similarity pass that completes the output file, and publishing);
  with default flags minus without, over the pairs scored: similarity pairs/s;
- peak RSS of the process; the time to resume the finished journal (a rerun: recover, rebuild
  the pool, find nothing to do).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "instructions"
ENGLISH = ("codealpaca_2k", "codealpaca_20k_subset", "gpteacher_roleplay", "gpteacher_toolformer",
           "instructionwild_en", "user_oriented_252")
PER_RESPONSE = 7
WINDOW = 512


def instruction_stream(seed: int = 0) -> Iterator[str]:
    """Real English instructions first (when ../shared/data is present), then generated ones."""
    yield from real_instructions()
    sys.path.insert(0, str(HERE))
    from stream import generate_stream

    block = 0
    while True:
        yield from generate_stream(200_000, seed=seed + block)
        block += 1


def real_instructions() -> Iterator[str]:
    for name in ENGLISH:
        path = SHARED / f"{name}.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    text = " ".join(json.loads(line)["instruction"].split())
                    if text:
                        yield text


def write_stream(path: Path, count: int) -> None:
    """The replayed instructions, one per line, made before any timing (and outside the child)."""
    if path.exists() and sum(1 for _ in open(path, encoding="utf-8")) >= count:
        return
    with open(path, "w", encoding="utf-8") as handle:
        for _, text in zip(range(count), instruction_stream()):
            handle.write(text + "\n")


def read_stream(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\n")


class ReplayStream:
    """Answers each request as soon as it is submitted (a stream with an infinitely fast engine)."""

    def __init__(self, backend: "ReplayBackend") -> None:
        self.backend = backend
        self.queue: collections.deque = collections.deque()

    def submit(self, key: Any, prompt: str, params: Any) -> None:
        self.queue.append((key, prompt))

    def next_finished(self, timeout: float | None = None) -> tuple[Any, list[Any]]:
        if not self.queue:
            raise LookupError("no request is pending")
        key, prompt = self.queue.popleft()
        return key, [self.backend.answer(prompt)]

    def pending(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self.queue.clear()


class ReplayBackend:
    name = "replay"

    def __init__(self, stream: Path) -> None:
        self.texts = read_stream(stream)

    def answer(self, prompt: str) -> Any:
        from selfinstruct.backends.base import Completion

        first = int(prompt.rstrip().rsplit("\n", 1)[-1].rstrip("."))  # the cue's number
        items = [next(self.texts) for _ in range(PER_RESPONSE)]
        text = " " + "\n".join([items[0]] + [f"{first + k}. {item}" for k, item in enumerate(items[1:], start=1)])
        return Completion(text, "stop", len(prompt.split()), len(text.split()))

    def generate(self, prompts: list[str], params: Any) -> list[list[Any]]:
        return [[self.answer(prompt)] for prompt in prompts]

    def open_stream(self, window: int) -> ReplayStream:
        return ReplayStream(self)

    def close(self) -> None:
        pass


def timed_admission() -> list[tuple[int, float]]:
    """Record (pool size after, CPU seconds) of every Pool.admit call (the exact ROUGE-L admission,
    C++) from now on; the CPU time is the calling thread's (step 1 runs it on a thread of its own)."""
    from selfinstruct.pool import Pool

    calls: list[tuple[int, float]] = []
    admit = Pool.admit

    def timed(self: Pool, candidates: Any) -> Any:
        started = time.thread_time()
        try:
            return admit(self, candidates)
        finally:
            calls.append((len(self), time.thread_time() - started))

    Pool.admit = timed  # type: ignore[method-assign]
    return calls


def read_progress(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]


def loop_by_decile(batches: list[dict[str, Any]], size: int) -> tuple[float, float, list, list]:
    """The loop's wall and CPU seconds, and ms per admitted instruction by pool-size decile."""
    deciles, cpu_deciles = [], []
    for decile in range(1, 11):
        low, high = (decile - 1) * size / 10, decile * size / 10
        chosen = [b for b in batches if low < b["pool_size"] <= high]
        admitted = sum(b["admitted"] for b in chosen)
        deciles.append(1000 * sum(b["seconds"] for b in chosen) / admitted if admitted else None)
        cpu_deciles.append(1000 * sum(b.get("cpu_seconds", 0.0) for b in chosen) / admitted if admitted else None)
    return sum(b["seconds"] for b in batches), sum(b.get("cpu_seconds", 0.0) for b in batches), deciles, cpu_deciles


def run_one(size: int, fields: bool, out: Path, stream: Path) -> dict[str, Any]:
    """One configuration in this process (called in a child)."""
    from selfinstruct.pipeline import PipelineConfig, generate_instructions
    from selfinstruct.pipeline.files import load_seeds

    config = PipelineConfig(output_dir=out, num_instructions=size, prompts_per_round=WINDOW, progress=False,
                            similarity_fields=fields, max_stalled_rounds=0)
    admission = timed_admission()
    started = time.perf_counter()
    summary = generate_instructions(config, ReplayBackend(stream))
    total = time.perf_counter() - started
    base = len(load_seeds(config))  # the pool holds the seeds, then the admitted instructions
    admission_cpu = sum(spent for _, spent in admission)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batches = read_progress(out)
    loop, loop_cpu, deciles, cpu_deciles = loop_by_decile(batches, size)
    admit_deciles = []
    for decile in range(1, 11):
        low, high = (decile - 1) * size / 10, decile * size / 10
        spent = [cpu for pool, cpu in admission if low < pool - base <= high]  # the calls that ended in the decile
        admit_deciles.append(1000 * sum(spent) / (high - low) if spent else None)
    started = time.perf_counter()
    generate_instructions(config, ReplayBackend(stream))  # finished: recover, rebuild the pool, nothing to do
    resume = time.perf_counter() - started
    return {"size": size, "fields": fields, "admitted": summary.counts["admitted"], "total_s": total,
            "loop_s": loop, "after_loop_s": total - loop, "ms_per_admitted": 1000 * loop / size,
            "loop_cpu_s": loop_cpu, "cpu_ms_per_admitted": 1000 * loop_cpu / size, "admission_cpu_s": admission_cpu,
            "deciles_ms": deciles, "cpu_deciles_ms": cpu_deciles, "admit_deciles_ms": admit_deciles, "peak_rss_mb": rss, "resume_s": resume,
            "candidates": sum(b["candidates"] for b in batches)}


def machine_info() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--modes", nargs="+", choices=("fields", "no-fields"), default=["no-fields", "fields"])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--loop-of", nargs=2, metavar=("RUN_DIR", "N"),
                        help="only print the loop's figures from RUN_DIR/progress.jsonl (a run still computing its "
                             "similarity fields after the loop, or one stopped there)")
    args = parser.parse_args()
    if args.loop_of:
        size = int(args.loop_of[1])
        batches = read_progress(Path(args.loop_of[0]))
        loop, loop_cpu, deciles, cpu_deciles = loop_by_decile(batches, size)
        admitted = sum(b["admitted"] for b in batches)
        print(f"loop of {args.loop_of[0]}: {admitted:,} admitted, {1000 * loop / admitted:.3f} ms/admitted wall, "
              f"{1000 * loop_cpu / admitted:.3f} CPU; by pool decile [" + " ".join("-" if d is None else f"{d:.3f}" for d in deciles)
              + "] ms wall, [" + " ".join("-" if d is None else f"{d:.3f}" for d in cpu_deciles) + "] ms CPU")
        return
    if args.child:
        size, fields, out = int(args.child[0]), args.child[1] == "fields", Path(args.child[2])
        print(json.dumps(run_one(size, fields, out, Path(args.child[3]))))
        return
    print(f"machine: {machine_info()}")
    found = [name for name in ENGLISH if (SHARED / f"{name}.jsonl").exists()]
    print(f"stream: {'real corpora from ../shared/data (' + ', '.join(found) + '), then ' if found else ''}"
          f"bench/stream.py's generated stream{'' if found else ' only (../shared/data not found)'}")
    results = {}
    for size in args.sizes:
        stream = Path(tempfile.gettempdir()) / f"bench-scale-stream-{size}.txt"
        write_stream(stream, 4 * size + 100_000)  # admission keeps about 1 in 2 in this stream
        for mode in args.modes:
            out = Path(tempfile.mkdtemp(prefix="bench-scale-"))
            load_before = os.getloadavg()[0]
            try:
                child = subprocess.run([sys.executable, __file__, "--child", str(size), mode, str(out), str(stream)],
                                       capture_output=True, text=True)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            if child.returncode:
                sys.exit(f"N={size:,} {mode} failed:\n{child.stderr[-3000:]}")
            load_after = os.getloadavg()[0]
            result = json.loads(child.stdout.strip().splitlines()[-1])
            results[(size, mode)] = result
            deciles = " ".join("-" if d is None else f"{d:.3f}" for d in result["deciles_ms"])
            cpu_deciles = " ".join("-" if d is None else f"{d:.3f}" for d in result["cpu_deciles_ms"])
            admit_deciles = " ".join("-" if d is None else f"{d:.3f}" for d in result["admit_deciles_ms"])
            print(f"N={size:,} {mode:9s} (load {load_before:.1f} -> {load_after:.1f}): "
                  f"{result['ms_per_admitted']:.3f} ms/admitted in the loop, wall "
                  f"({result['loop_s']:.1f} s, {result['candidates']:,} candidates); by pool decile [{deciles}] ms\n"
                  f"    CPU {result['cpu_ms_per_admitted']:.3f} ms/admitted ({result['loop_cpu_s']:.1f} s, of which "
                  f"Pool.admit {result['admission_cpu_s']:.1f} s); by pool decile [{cpu_deciles}] ms\n"
                  f"    Pool.admit CPU by pool decile [{admit_deciles}] ms/admitted\n"
                  f"    after the loop {result['after_loop_s']:.1f} s; peak RSS {result['peak_rss_mb']:.0f} MB; "
                  f"resume {result['resume_s']:.1f} s", flush=True)
        if (size, "fields") in results and (size, "no-fields") in results:
            extra = results[(size, "fields")]["after_loop_s"] - results[(size, "no-fields")]["after_loop_s"]
            pairs = size * 175 + size * (size - 1) // 2  # each admission against the pool before it
            print(f"N={size:,} similarity fields: {pairs:,} pairs in {extra:.1f} s more after the loop = "
                  f"{pairs / extra / 1e6:.1f} M pairs/s")


if __name__ == "__main__":
    main()
