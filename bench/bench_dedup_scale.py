"""`selfinstruct dedup` on a large generated stream (default 10^7 candidates): wall time, CPU time, peak RSS.

    nice python bench/bench_dedup_scale.py                      # 10^7 candidates, threads=2
    nice python bench/bench_dedup_scale.py --size 1000000       # the 1M stream (one chunk)
    python bench/bench_dedup_scale.py --rss-limit-gb 9          # stop the run above 9 GB (default 12)
    python bench/bench_dedup_scale.py --stop-after-s 1800       # stop the run after 30 minutes
    python bench/bench_dedup_scale.py --breakdown KEPT.jsonl    # where a pool of these texts keeps its memory

The stream is bench/stream.py's generator in chunks of 10^6 candidates (seed k for chunk k: one
chunk is exactly the 1M stream of bench_dedup_cli.py; the chunks have different vocabularies, so
later chunks add new words as a long generation run does). It is written once as JSONL
({"instruction", "id"}) under --data-dir (default bench/out/, about 1.1 GB for 10^7) and reused.

The command runs in a child process exactly as a user runs it (`python -m selfinstruct dedup`);
this script samples the child's resident memory every second (VmRSS) and reports its peak
(VmHWM), wall time and CPU seconds (user + system, all threads). If the resident memory passes
--rss-limit-gb the child is stopped, so the benchmark cannot take the machine's memory from other
work; so is a run past --stop-after-s. The report then says how far it got: the candidates decided
by then are at least the lines of its two temporary outputs (each batch is written as soon as it is
decided; up to 1 MiB per output may still be in the command's write buffer).
Records are written to --data-dir too (kept/rejects).

--breakdown FILE builds, in a child process, a Pool of the "instruction" texts of FILE (e.g. the
kept output of a run, so that the pool is the one that run ended with): resident memory with the
texts as a Python list, after `Pool.add` (texts and tokens, no index yet), after dropping the
list, and after one admission (which builds the index).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stream import generate_stream, write_jsonl  # noqa: E402

CHUNK = 1_000_000


def stream_file(folder: Path, size: int) -> Path:
    """The JSONL stream of `size` candidates, generated once (chunk k from seed k) and reused."""
    path = folder / f"dedup-stream-{size}.jsonl"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    with open(partial, "w", encoding="utf-8") as handle:
        for chunk, start in enumerate(range(0, size, CHUNK)):
            texts = generate_stream(min(CHUNK, size - start), seed=chunk)
            write_jsonl(handle, texts, first_id=start)
            print(f"  generated {start + len(texts):,} candidates ({time.perf_counter() - started:.0f} s)", flush=True)
    partial.replace(path)
    return path


def status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system seconds of a live process, all threads (/proc/PID/stat fields 14 and 15)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decided_so_far(folder: Path, pid: int) -> int:
    """Lines in the temporary kept and rejects files of the dedup process `pid` (one per decided candidate)."""
    lines = 0
    for temporary in folder.glob(f".dedup-scale.*-{pid}-*.tmp"):
        with open(temporary, "rb") as handle:
            lines += sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
    return lines


def run(path: Path, folder: Path, threads: int, limit_kb: int, stop_after_s: float) -> dict:
    command = [sys.executable, "-m", "selfinstruct", "dedup", str(path), "-o", str(folder / "dedup-scale.kept.jsonl"),
               "--no-progress", "--threads", str(threads)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []  # (seconds, VmRSS kB)
    peak_kb = cpu = 0
    stopped = ""
    decided = None
    while child.poll() is None:
        rss = status_kb(child.pid, "VmRSS")
        peak_kb = max(peak_kb, status_kb(child.pid, "VmHWM") or 0)
        cpu = cpu_seconds(child.pid) or cpu
        if rss is not None:
            samples.append((time.perf_counter() - started, rss))
            if not stopped and (rss > limit_kb or time.perf_counter() - started > stop_after_s):
                stopped = f"resident memory above {limit_kb / 2**20:.1f} GB" if rss > limit_kb else f"past {stop_after_s:.0f} s"
                child.send_signal(signal.SIGSTOP)  # hold it still while its outputs are counted
                decided = decided_so_far(folder, child.pid)
                child.send_signal(signal.SIGTERM)  # the command removes its temporary files on SIGTERM
                child.send_signal(signal.SIGCONT)
        time.sleep(1.0)
    out, err = child.communicate()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": peak_kb / 1024, "samples": samples, "stopped": stopped, "decided": decided,
            "returncode": child.returncode, "stdout": out, "stderr": err}


BREAKDOWN_CHILD = """
import gc, json, sys
import selfinstruct as si
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')) / 1024
texts = [json.loads(line)["instruction"] for line in open(sys.argv[1], encoding="utf-8")]
text_mb = sum(len(t.encode()) for t in texts) / 2**20
listed = rss()
pool = si.Pool(threads=int(sys.argv[2]))
pool.add(texts)
added = rss()
del texts
gc.collect()
dropped = rss()
pool.admit(["Write a poem about the sea and the sky tonight"])
indexed = rss()
print(f"{len(pool):,} pool entries, {text_mb:,.0f} MB of UTF-8 text; resident MB: with the Python list {listed:,.0f}, "
      f"after Pool.add {added:,.0f} (+{added - listed:,.0f}: texts, tokens), after dropping the list {dropped:,.0f}, "
      f"after the first admission {indexed:,.0f} (+{indexed - dropped:,.0f}: the index)")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=HERE / "out")
    parser.add_argument("--rss-limit-gb", type=float, default=12.0)
    parser.add_argument("--stop-after-s", type=float, default=float("inf"))
    parser.add_argument("--breakdown", type=Path, help="a JSONL file of texts: report the memory of a pool of them")
    args = parser.parse_args()
    if args.breakdown is not None:
        print(subprocess.run([sys.executable, "-c", BREAKDOWN_CHILD, str(args.breakdown), str(args.threads)],
                             capture_output=True, text=True, check=True).stdout.strip())
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with open("/proc/meminfo") as handle:
        meminfo = {line.split(":")[0]: int(line.split()[1]) for line in handle}
    print(f"# selfinstruct dedup at scale — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{meminfo['MemTotal'] / 2**20:.0f} GiB ({meminfo['MemAvailable'] / 2**20:.0f} GiB available), "
          f"threads={args.threads}, load average {os.getloadavg()[0]:.1f}")
    path = stream_file(args.data_dir, args.size)
    print(f"{args.size:,} candidates, {path.stat().st_size / 1e9:.2f} GB of JSONL ({path})", flush=True)
    result = run(path, args.data_dir, args.threads, int(args.rss_limit_gb * 2**20), args.stop_after_s)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if result["returncode"] != 0:
        if result["stopped"]:
            print(f"stopped ({result['stopped']}) after {result['wall_s']:.0f} s, CPU {result['cpu_s']:.0f} s, "
                  f"with at least {result['decided']:,} candidates decided; peak RSS {result['peak_mb']:,.0f} MB")
        else:
            print(f"the command failed (exit status {result['returncode']}) after {result['wall_s']:.0f} s: "
                  f"{result['stderr'].strip()[-500:]}")
    else:
        print(result["stdout"].strip())
        kept = re.search(r"kept ([\d,]+) of", result["stdout"]).group(1)
        print(f"\n| candidates | kept | wall s | CPU s | peak RSS MB |\n|---:|---:|---:|---:|---:|\n"
              f"| {args.size:,} | {kept} | {result['wall_s']:.1f} | {result['cpu_s']:.1f} | {result['peak_mb']:,.0f} |")
    samples = result["samples"]
    step = max(1, len(samples) // 12)
    print("\nresident memory over the run (s: MB): " + ", ".join(f"{s:.0f}: {kb / 1024:,.0f}" for s, kb in samples[::step]))


if __name__ == "__main__":
    main()
