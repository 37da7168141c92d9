"""Compatibility check: our seed loader on the original Self-Instruct seed file, beside our own seeds.

    python bench/compat_seed_tasks.py [--original PATH]

Reads the original file from ../shared/data/seed_tasks.jsonl (outside the repository) by default;
when it is absent this says so and checks only the shipped seeds. Prints what the tests cannot
check without that file: it loads with our validating loader, its task and classification counts,
its repeated task names, and how many of its instructions our exact ROUGE-L admission keeps.
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

import selfinstruct as si
from selfinstruct.seeds import SeedTask, default_seed_path, load_seed_tasks

DEFAULT_ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed_tasks.jsonl"


def describe(label: str, tasks: list[SeedTask]) -> None:
    names = collections.Counter(task.name for task in tasks)
    repeated = {name: count for name, count in names.items() if count > 1}
    admitted = si.Pool(threshold=0.7).admit([task.instruction for task in tasks]).num_admitted
    print(
        f"{label}: {len(tasks)} tasks, {sum(task.is_classification for task in tasks)} classification, "
        f"{len(names)} distinct names (repeated: {repeated or 'none'}), "
        f"{admitted} of {len(tasks)} admitted by ROUGE-L <= 0.7 in file order"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", type=Path, default=DEFAULT_ORIGINAL, help="the original seed_tasks.jsonl")
    args = parser.parse_args()
    describe(f"ours ({default_seed_path().name}, shipped)", load_seed_tasks())
    if args.original.exists():
        describe(f"original ({args.original})", load_seed_tasks(args.original))
    else:
        print(f"original seed file not found at {args.original}: skipped (pass --original PATH)")


if __name__ == "__main__":
    main()
