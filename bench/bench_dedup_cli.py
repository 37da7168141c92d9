"""`selfinstruct dedup` end to end on the generated 1,000,000-candidate stream, and where the time goes.

    python bench/bench_dedup_cli.py                  # 1M stream, threads=2, medians of 3
    python bench/bench_dedup_cli.py --size 100000 --repeats 1   # a quick run

Writes the stream (bench/stream.py) as JSONL ({"instruction", "id"}) to a temporary folder, then:
(1) the reader alone, in this process: the command's streamed reader (blocks of lines, decoded
    and parsed) with each JSONL parser (the standard library; orjson, when installed; the core's
    scanner, the command's default), results checked identical;
(2) the anchor: admission alone (Pool.admit in the command's batches) in a child process;
(3) the command itself in a child process (interpreter start-up and imports included), as it
    runs by default and with the standard-library parser only (the core's scanner and orjson
    hidden), kept and rejects files checked byte-identical; its own read/admission/write split
    is parsed from its summary. Reading and writing run in threads beside the admission, so their
    times overlap it: "outside admission" (wall minus admission) is what the command adds to the
    engine. Peak RSS is each child's VmHWM.
(2) and (3) run in rounds (the anchor, then the command by default, then with the standard-library
parser only), so that each round's runs meet the same machine: its speed drifts within minutes.
The ratio to the anchor is the median of the rounds' ratios.
Target for (3): <= 8 s and <= 1 GB on 2 cores (the admission part belongs to the engine). The child's
CPU seconds (user + system, all threads) are printed too: on a busy machine they move far less than
wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_dedup import median_time  # noqa: E402
from stream import generate_stream, write_jsonl  # noqa: E402

from selfinstruct.dedup import DEFAULT_BATCH  # noqa: E402
from selfinstruct.dedup.formats import orjson_loads, stream_records  # noqa: E402
from selfinstruct.dedup.source import read_blocks  # noqa: E402

PEAK = "peak_kb = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))"
ADMIT_CHILD = f"""
import json, sys, time
import selfinstruct as si
texts = [json.loads(line)["instruction"] for line in open(sys.argv[1], encoding="utf-8")]
started = time.perf_counter()
pool = si.Pool(threads=int(sys.argv[2]))
kept = 0
for start in range(0, len(texts), int(sys.argv[3])):
    kept += pool.admit(texts[start:start + int(sys.argv[3])]).num_admitted
seconds = time.perf_counter() - started
{PEAK}
print(json.dumps({{"seconds": seconds, "kept": kept, "rss_mb": peak_kb / 1024}}))
"""
CLI_CHILD = f"""
import sys
if sys.argv[1] == "json-only":
    sys.modules["orjson"] = None  # import fails
    import selfinstruct._core
    selfinstruct._core._jsonl_string_fields = lambda block, field, line_ends=False: None  # the scanner refuses every block
from selfinstruct.cli import main
status = main(sys.argv[2:])
{PEAK}
print("peak_rss_mb", peak_kb / 1024)
sys.exit(status)
"""
SPLIT = re.compile(r"time: read ([\d.]+) s \(([\w, ]+)\), admission ([\d.]+) s, write ([\d.]+) s")


def write_stream(path: Path, size: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        write_jsonl(handle, generate_stream(size))


def cpu_time(function):
    started = time.process_time()
    result = function()
    return time.process_time() - started, result


def read_all(path: Path, parser: str) -> list:
    """Every part the command's streamed reader gives (texts, line numbers, and the records' own
    bytes as slices of their blocks), kept as the command keeps a batch until it is written."""
    return list(stream_records(str(path), read_blocks(path), "instruction", parser=parser))


def flattened(parts: list) -> tuple[list, list, list]:
    """(texts, lines, sources) of every record, for comparing the parsers (not timed)."""
    texts, lines, sources = [], [], []
    for part in parts:
        texts += part.texts
        lines += part.lines
        sources += part.sources
    return texts, lines, sources


def reader_section(path: Path, repeats: int) -> dict:
    """Per parser: (median wall s, its CPU s, identical to the standard library's records)."""
    rows, plain = {}, None
    for name in ("json", "orjson", "core") if orjson_loads() is not None else ("json", "core"):
        seconds, (cpu, parts) = median_time(lambda: cpu_time(lambda: read_all(path, name)), repeats)
        records = flattened(parts)
        plain = records if plain is None else plain
        rows[name] = (seconds, cpu, records == plain)
    return rows


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_anchor(path: Path, threads: int) -> dict:
    """Admission alone (Pool.admit in the command's batches) in a child process."""
    cpu = child_cpu_seconds()
    output = subprocess.run([sys.executable, "-c", ADMIT_CHILD, str(path), str(threads), str(DEFAULT_BATCH)],
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1]) | {"cpu_s": child_cpu_seconds() - cpu}


def run_cli(path: Path, out: Path, threads: int, parser: str) -> dict:
    command = [sys.executable, "-c", CLI_CHILD, parser, "dedup", str(path), "-o", str(out), "--no-progress", "--threads", str(threads)]
    cpu = child_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    cpu = child_cpu_seconds() - cpu
    read_s, used, admission_s, write_s = SPLIT.search(result.stdout).groups()
    return {
        "wall_s": wall, "cpu_s": cpu, "read_s": float(read_s), "parser": used, "admission_s": float(admission_s), "write_s": float(write_s),
        "rss_mb": float(result.stdout.split("peak_rss_mb")[1].split()[0]),
        "kept": int(re.search(r"kept ([\d,]+) of", result.stdout).group(1).replace(",", "")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"# selfinstruct dedup end to end — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"threads={args.threads}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-dedup-cli-") as folder:
        source = Path(folder) / "stream.jsonl"
        write_stream(source, args.size)
        print(f"{args.size:,} candidates, {source.stat().st_size / 1e6:,.0f} MB of JSONL")

        reader = reader_section(source, args.repeats)
        plain_s = reader["json"][0]
        print(f"\n## Reader alone (read + parse + field), median of {args.repeats}\n"
              + "; ".join(f"{name}: {seconds:.2f} s (CPU {cpu:.2f} s; {plain_s / seconds:.1f}× the standard library's "
                          f"speed), identical: {same}" for name, (seconds, cpu, same) in reader.items())
              + ("" if "orjson" in reader else '; orjson not installed (pip install "selfinstruct[fast]")'))

        # The machine's speed drifts within minutes: each round runs the anchor and both variants of
        # the command in turn, so that all three meet the same machine, and ratios are per round.
        anchors: list[dict] = []
        commands: dict[str, list[dict]] = {"default": [], "json-only": []}
        for _ in range(args.repeats):
            anchors.append(run_anchor(source, args.threads))
            for hidden, runs in commands.items():
                runs.append(run_cli(source, Path(folder) / f"kept-{hidden}.jsonl", args.threads, hidden))
        anchor_s = statistics.median(run["seconds"] for run in anchors)
        anchor_runs = ", ".join(f"{run['seconds']:.2f}" for run in anchors)
        print(f"\n## Anchor: Pool.admit alone, batches of {DEFAULT_BATCH:,}\nmedian {anchor_s:.2f} s "
              f"(runs {anchor_runs}), child CPU {statistics.median(run['cpu_s'] for run in anchors):.2f} s "
              f"(reading the JSONL with json.loads included), kept {anchors[0]['kept']:,}, "
              f"peak RSS {max(run['rss_mb'] for run in anchors):,.0f} MB")

        print("\n## `selfinstruct dedup` end to end (child process: start-up, read, admission, write, publish)")
        print("| reader | wall s (median) | runs | CPU s | admission s | outside admission s | read s (thread) | write s (thread) "
              "| ÷ anchor (median of rounds) | peak RSS MB | kept |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        outputs = {}
        for hidden, runs in commands.items():
            mid = sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2]
            outside = mid["wall_s"] - mid["admission_s"]
            walls = ", ".join(f"{run['wall_s']:.2f}" for run in runs)
            ratio = statistics.median(run["wall_s"] / anchor["seconds"] for run, anchor in zip(runs, anchors))
            print(f"| {mid['parser']} | {mid['wall_s']:.2f} | {walls} | {mid['cpu_s']:.2f} | {mid['admission_s']:.2f} | "
                  f"{outside:.2f} | {mid['read_s']:.2f} | {mid['write_s']:.2f} | "
                  f"{ratio:.2f}× | {max(run['rss_mb'] for run in runs):,.0f} | {mid['kept']:,} |")
            assert mid["kept"] == anchors[0]["kept"], "the command and the anchor disagree"
            outputs[hidden] = [(Path(folder) / name).read_bytes() for name in (f"kept-{hidden}.jsonl", f"kept-{hidden}.rejects.jsonl")]
        print(f"\nkept and rejects files byte-identical with the standard-library parser alone: "
              f"{outputs['default'] == outputs['json-only']}")


if __name__ == "__main__":
    main()
