"""Two builds of the engine, admission of the same stream, alternating runs on one machine.

On a shared machine, timings drift by 20% and more within an hour, so a change to the engine is
judged by runs of the old and the new build taken in turns, not against numbers from another day.

    # the engine of another revision, as a wheel (the installed one is the default candidate):
    git worktree add /tmp/base <revision>
    pip wheel --no-deps --no-build-isolation -w /tmp/base-wheel /tmp/base
    unzip -o -j /tmp/base-wheel/selfinstruct-*.whl 'selfinstruct/_core*' -d /tmp/base-core
    python bench/bench_engine_ab.py --baseline /tmp/base-core/_core*.so --rounds 3
    python bench/bench_engine_ab.py --baseline ... --size 420000 --drift-after 20000   # a stream that changes vocabulary
    # the whole command (start-up, reading, writing) instead of Pool.admit alone:
    python bench/bench_engine_ab.py --baseline /tmp/base-core/_core*.so --command
    # one build under two environments (here: transparent huge pages on for the candidate):
    python bench/bench_engine_ab.py --baseline /tmp/base-core/_core*.so --candidate /tmp/base-core/_core*.so \
        --candidate-env SELFINSTRUCT_HUGE_PAGES=1

Each run is a child process that admits the generated stream (bench/stream.py) in batches, like
`selfinstruct dedup` does (with --command: runs `selfinstruct dedup` on it, written as JSONL, timed
from the child's start to its exit), with the Python package of this checkout and the given
compiled core. Prints every run (with its system CPU time and page faults: the admission's alone, or
the whole command's), the medians, the per-round ratios, and checks that both builds
decide alike (with --command: write the same kept and rejects files).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import shutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stream import generate_stream, write_jsonl  # noqa: E402

CHILD = """
import hashlib, json, pickle, resource, sys, time
# An editable install redirects imports of the package to the checkout: drop that redirection so
# the package on PYTHONPATH (with the build under test) is the one imported.
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
import selfinstruct as si
import selfinstruct._core
assert selfinstruct._core.__file__.startswith(sys.argv[4]), selfinstruct._core.__file__
texts = pickle.load(open(sys.argv[1], "rb"))
threads, batch = int(sys.argv[2]), int(sys.argv[3])
started, cpu = time.perf_counter(), time.process_time()
before = resource.getrusage(resource.RUSAGE_SELF)
pool = si.Pool(threads=threads)
digest = hashlib.sha256()
for start in range(0, len(texts), batch):
    result = pool.admit(texts[start:start + batch])
    digest.update(result.index.tobytes() + result.best_index.tobytes() + result.best_score.tobytes())
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
after = resource.getrusage(resource.RUSAGE_SELF)
peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "cpu": cpu, "kept": len(pool), "decisions": digest.hexdigest()[:16],
                  "rss_mb": peak_kb / 1024, "faults": after.ru_minflt - before.ru_minflt,
                  "system_s": after.ru_stime - before.ru_stime, "stats": pool.stats(),
                  "steps": pool.timings() if hasattr(pool, "timings") else {}}))
"""

# The command in a child: the same package redirection and the pool's step timings noted after
# each batch. (The parent hashes both outputs after the child exits: hashing them in the child,
# as until session 17, added about 0.3 s of reading and hashing to every timed command.)
COMMAND_CHILD = """
import json, sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
import selfinstruct._core
assert selfinstruct._core.__file__.startswith(sys.argv[4]), selfinstruct._core.__file__
import selfinstruct.dedup.run as run
from selfinstruct.cli import main
steps = {}
class NotingPool(run.Pool):
    def admit(self, candidates):
        result = super().admit(candidates)
        steps.update(self.timings())
        return result
run.Pool = NotingPool
source, output = sys.argv[1], sys.argv[1] + ".out.jsonl"
status = main(["dedup", source, "-o", output, "--no-progress", "--threads", sys.argv[2], "--batch-size", sys.argv[3]])
peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"rss_mb": peak_kb / 1024, "steps": steps, "status": status}))
"""


def package_with_core(package: Path, core_name: str, core: Path, into: Path) -> Path:
    """A copy of the Python package (linked files) whose compiled core is `core`."""
    target = into / "selfinstruct"
    target.mkdir(parents=True)
    for item in package.iterdir():
        if item.name.startswith("_core") and item.suffix in (".so", ".pyd"):
            continue
        (target / item.name).symlink_to(item)
    shutil.copy(core, target / core_name)
    return into


def environment_settings(items: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """NAME=VALUE arguments as a dict (an error names the bad one)."""
    settings = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            parser.error(f"expected NAME=VALUE, got {item!r}")
        settings[name] = value
    return settings


def run_once(root: Path, stream: Path, threads: int, batch: int, extra_env: dict[str, str], command: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), **extra_env)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", COMMAND_CHILD if command else CHILD, str(stream), str(threads), str(batch),
                           str(root)], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if command:  # the whole child, from its start to its exit
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        kept = Path(str(stream) + ".out.jsonl").read_bytes()
        digest = hashlib.sha256(kept)  # of both outputs: the decisions
        digest.update(Path(str(stream) + ".out.rejects.jsonl").read_bytes())
        result.update(seconds=wall, cpu=cpu, faults=after.ru_minflt - usage.ru_minflt,
                      system_s=after.ru_stime - usage.ru_stime, kept=kept.count(b"\n"), stats={},
                      decisions=digest.hexdigest()[:16])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="the compiled core (_core*.so) to compare against")
    parser.add_argument("--candidate", type=Path, help="the compiled core to judge (default: the installed one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="candidates per admit call (the CLI's default)")
    parser.add_argument("--drift-after", type=int, default=0, metavar="N",
                        help="a stream whose vocabulary changes after N candidates (the generator's seed 1, "
                        "then seed 2), which makes the index's first token ranking stale")
    parser.add_argument("--command", action="store_true",
                        help="time `selfinstruct dedup` on the stream (as JSONL) instead of Pool.admit alone")
    for side in ("baseline", "candidate"):
        parser.add_argument(f"--{side}-env", action="append", default=[], metavar="NAME=VALUE",
                            help=f"an environment variable for the {side}'s runs (repeatable)")
    args = parser.parse_args()
    extra_env = {side: environment_settings(getattr(args, f"{side}_env"), parser) for side in ("baseline", "candidate")}

    import selfinstruct
    import selfinstruct._core as installed_core

    package = Path(selfinstruct.__file__).resolve().parent
    installed = Path(installed_core.__file__).resolve()  # (an editable install keeps it outside the package)
    candidate = args.candidate or installed
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if args.drift_after:
            texts = generate_stream(args.drift_after, seed=1) + generate_stream(args.size - args.drift_after, seed=2)
        else:
            texts = generate_stream(args.size)
        stream = work / ("stream.jsonl" if args.command else "stream.pkl")
        if args.command:
            with open(stream, "w", encoding="utf-8") as handle:
                write_jsonl(handle, texts)
        else:
            with open(stream, "wb") as handle:
                pickle.dump(texts, handle)
        roots = {name: package_with_core(package, installed.name, core, work / name)
                 for name, core in (("baseline", args.baseline), ("candidate", candidate))}
        print(f"# Engine A/B{' (the dedup command)' if args.command else ''} — {platform.machine()}, "
              f"{os.cpu_count()} cores, threads={args.threads}, {args.size:,} candidates in batches of {args.batch:,}"
              + (f", vocabulary changed after {args.drift_after:,}" if args.drift_after else ""))
        for side, core in (("baseline", args.baseline), ("candidate", candidate)):
            settings = " ".join(f"{name}={value}" for name, value in extra_env[side].items())
            print(f"{side}: {core}" + (f" with {settings}" if settings else ""))
        print()
        print("| round | engine | wall s | CPU s | of it system s | page faults | peak RSS MB | load |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        runs: dict[str, list[dict]] = {"baseline": [], "candidate": []}
        for round_number in range(1, args.rounds + 1):
            for name in ("baseline", "candidate"):
                load = os.getloadavg()[0]
                result = run_once(roots[name], stream, args.threads, args.batch, extra_env[name], args.command)
                runs[name].append(result)
                print(f"| {round_number} | {name} | {result['seconds']:.2f} | {result['cpu']:.2f} | "
                      f"{result['system_s']:.2f} | {result['faults']:,} | "
                      f"{result['rss_mb']:.0f} | {load:.1f} |", flush=True)
    print()
    for name, results in runs.items():
        print(f"{name}: median {statistics.median(r['seconds'] for r in results):.2f} s wall, "
              f"{statistics.median(r['cpu'] for r in results):.2f} s CPU "
              f"({statistics.median(r['system_s'] for r in results):.2f} s system, "
              f"{statistics.median(r['faults'] for r in results):,.0f} page faults), kept {results[0]['kept']:,}"
              + (f", counters {results[0]['stats']}" if results[0]["stats"] else ""))
        if results[0]["steps"]:  # (cores before Pool.timings() have no split)
            print("  per step (median s): " + ", ".join(
                f"{step} {statistics.median(r['steps'][step] for r in results):.2f}" for step in results[0]["steps"]))
    ratios = [b["seconds"] / c["seconds"] for b, c in zip(runs["baseline"], runs["candidate"])]
    cpu_ratios = [b["cpu"] / c["cpu"] for b, c in zip(runs["baseline"], runs["candidate"])]
    print(f"baseline ÷ candidate, per round: wall {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.2f}×); CPU {', '.join(f'{r:.2f}' for r in cpu_ratios)} "
          f"(median {statistics.median(cpu_ratios):.2f}×)")
    same = len({r["decisions"] for results in runs.values() for r in results}) == 1
    print(f"decisions identical across builds and runs: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
