"""Today's `selfinstruct dedup` against the engine of an earlier revision, in turns on one machine.

    python bench/bench_against_revision.py                 # against de80a39, 3 rounds
    python bench/bench_against_revision.py --revision <rev> --rounds 5 --build-dir /tmp/revisions

This VM's speed drifts by a third within minutes (the same work takes more CPU time), so a time
measured alone says as much about the minute as about the engine. Each round here runs, one after
the other on the same stream: (1) the earlier revision's `Pool.admit` (its whole Python package and
core, built from this repository's history), (2) today's `Pool.admit` alone, and (3) today's
`selfinstruct dedup` end to end (start-up, JSONL read, admission, both outputs written and
published). The ratio of (1) to (3) within a round does not depend on the minute.

The default revision, de80a39 (2026-11-21), is the engine whose 1M stream took 21-29 s on the
2-core development VM of that day (bench/RESULTS.md, "History"); the target of 8 s end to end on
such a machine is then a ratio of at least 29 / 8 = 3.6 (21 / 8 = 2.6 on its fastest runs).

The revision is built with `pip wheel` from `git archive` (a few minutes on 2 cores; without
build isolation when scikit-build-core and pybind11 are importable) into --build-dir, where a
later run finds it. Decisions of (1) and (2) are checked identical (a digest of every decision);
the command's kept count is checked against them.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent  # (git archive run in bench/ would archive bench/ alone)
sys.path.insert(0, str(HERE))

from bench_engine_ab import package_with_core, run_once  # noqa: E402
from stream import generate_stream, write_jsonl  # noqa: E402

FILED = "de80a39"


def build_revision(revision: str, build_dir: Path) -> Path:
    """The folder holding the Python package (with its compiled core) of `revision`, built once."""
    found = subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "--short", f"{revision}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit(f"{revision!r} is not a revision of {REPOSITORY} (this benchmark builds it from the repository's "
                 f"git history): {found.stderr.strip()}")
    commit = found.stdout.strip()
    root = build_dir / commit
    if (root / "selfinstruct" / "__init__.py").exists():
        return root
    with tempfile.TemporaryDirectory() as folder:
        source, wheels = Path(folder) / "source", Path(folder) / "wheels"
        source.mkdir()
        archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", commit], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)]
        if all(importlib.util.find_spec(name) for name in ("scikit_build_core", "pybind11")):
            command.append("--no-build-isolation")
        print(f"building {commit} into {root} …", flush=True)
        subprocess.run(command, check=True)
        wheel = next(wheels.glob("selfinstruct-*.whl"))
        partial = build_dir / f".{commit}.partial"
        with zipfile.ZipFile(wheel) as archive_file:
            archive_file.extractall(partial, [name for name in archive_file.namelist() if name.startswith("selfinstruct/")])
        partial.rename(root)  # whole or not at all: a killed build leaves only the partial folder
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revision", default=FILED, help=f"the earlier engine (default {FILED})")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="candidates per admit call (the CLI's default)")
    parser.add_argument("--build-dir", type=Path, default=Path(tempfile.gettempdir()) / "selfinstruct-revisions",
                        help="where built revisions are kept (default: %(default)s)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    import selfinstruct
    import selfinstruct._core as installed_core

    args.build_dir.mkdir(parents=True, exist_ok=True)
    earlier_root = build_revision(args.revision, args.build_dir)
    package = Path(selfinstruct.__file__).resolve().parent
    installed = Path(installed_core.__file__).resolve()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        today_root = package_with_core(package, installed.name, installed, work / "today")
        texts = generate_stream(args.size)
        pickled, jsonl = work / "stream.pkl", work / "stream.jsonl"
        with open(pickled, "wb") as handle:
            pickle.dump(texts, handle)
        with open(jsonl, "w", encoding="utf-8") as handle:
            write_jsonl(handle, texts)
        print(f"# Today against {earlier_root.name} — {platform.machine()}, {os.cpu_count()} cores, "
              f"threads={args.threads}, {args.size:,} candidates in batches of {args.batch:,}\n")
        print(f"| round | {earlier_root.name}: Pool.admit s (CPU) | today: Pool.admit s (CPU) | today: dedup command s (CPU) "
              "| ÷ command | ÷ today's admission |")
        print("|---:|---:|---:|---:|---:|---:|")
        earlier, today, command = [], [], []
        for round_number in range(1, args.rounds + 1):
            earlier.append(run_once(earlier_root, pickled, args.threads, args.batch, {}, False))
            today.append(run_once(today_root, pickled, args.threads, args.batch, {}, False))
            command.append(run_once(today_root, jsonl, args.threads, args.batch, {}, True))
            e, t, c = earlier[-1], today[-1], command[-1]
            print(f"| {round_number} | {e['seconds']:.2f} ({e['cpu']:.2f}) | {t['seconds']:.2f} ({t['cpu']:.2f}) | "
                  f"{c['seconds']:.2f} ({c['cpu']:.2f}) | {e['seconds'] / c['seconds']:.2f}× | "
                  f"{e['seconds'] / t['seconds']:.2f}× |", flush=True)
    over_command = [e["seconds"] / c["seconds"] for e, c in zip(earlier, command)]
    over_today = [e["seconds"] / t["seconds"] for e, t in zip(earlier, today)]
    print(f"\nmedians: {earlier_root.name} {statistics.median(r['seconds'] for r in earlier):.2f} s, "
          f"today's admission {statistics.median(r['seconds'] for r in today):.2f} s, "
          f"today's command {statistics.median(r['seconds'] for r in command):.2f} s; "
          f"ratio to the command {min(over_command):.2f}–{max(over_command):.2f}× (median {statistics.median(over_command):.2f}×), "
          f"to today's admission {statistics.median(over_today):.2f}×; peak RSS {max(r['rss_mb'] for r in earlier):,.0f} / "
          f"{max(r['rss_mb'] for r in today):,.0f} / {max(r['rss_mb'] for r in command):,.0f} MB")
    same = {r["decisions"] for r in earlier + today}
    kept = {r["kept"] for r in earlier + today + command}
    print(f"decisions of both engines identical: {len(same) == 1}; kept {', '.join(f'{k:,}' for k in sorted(kept))}")
    if len(same) != 1 or len(kept) != 1:
        sys.exit("the engines disagree")


if __name__ == "__main__":
    main()
