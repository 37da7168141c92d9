"""Deduplicate a file of instructions with exact greedy ROUGE-L admission.

Reads JSONL, a JSON list, or plain text lines; keeps the input order; writes the kept records in
the input's format and a JSONL file of rejects, each naming its most similar kept (or seed) text.
Outputs are written to temporary files and renamed only when everything succeeded, so a failed
run never leaves a half-written result behind.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .pool import Pool
from .records import detect_format, dump_line, read_records

DEFAULT_BATCH = 20_000


@dataclass(frozen=True)
class DedupSummary:
    """What a dedup run did."""

    kept: int
    rejected: int
    seeds: int
    pairs_verified: int
    seconds: float
    output: Path
    rejects: Path

    def describe(self) -> str:
        total = self.kept + self.rejected
        rate = total / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"kept {self.kept:,} of {total:,} ({self.rejected:,} rejected) against {self.seeds:,} seeds; "
            f"{self.pairs_verified:,} pairs scored by LCS; {self.seconds:.2f} s ({rate:,.0f} candidates/s)\n"
            f"kept    -> {self.output}\nrejects -> {self.rejects}"
        )


def default_output_path(input_path: str | os.PathLike[str]) -> Path:
    """INPUT.dedup.EXT beside the input."""
    path = Path(input_path)
    suffix = path.suffix or ".txt"
    return path.with_name(f"{path.stem}.dedup{suffix}")


def rejects_path_for(output: Path) -> Path:
    """The rejects file that goes with an output file."""
    return output.with_name(f"{output.stem}.rejects.jsonl")


def _write_atomically(path: Path, write: Callable[[Any], None]) -> Path:
    """Write through `write(handle)` into a temporary file; return it (renamed later)."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _format_kept(records: Sequence[dict[str, Any]], field: str, fmt: str) -> Callable[[Any], None]:
    def write(handle: Any) -> None:
        if fmt == "json":
            json.dump(list(records), handle, ensure_ascii=False, indent=1)
            handle.write("\n")
        elif fmt == "text":
            handle.writelines(record[field] + "\n" for record in records)
        else:
            handle.writelines(dump_line(record) for record in records)

    return write


def dedup_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    field: str = "instruction",
    threshold: float = 0.7,
    seeds_path: str | os.PathLike[str] | None = None,
    seeds_field: str | None = None,
    tokenizer: str = "rouge",
    threads: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> DedupSummary:
    """Deduplicate `input_path` into `output_path` (default INPUT.dedup.EXT) and its rejects file.

    Seeds (optional) join the pool first, unconditionally, and are not written out. Reading
    errors raise selfinstruct.records.RecordError naming the file and line; no output is written then.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    fmt = detect_format(input_path)
    records, texts = read_records(input_path, field, fmt)
    seed_texts: list[str] = []
    if seeds_path is not None:
        _, seed_texts = read_records(seeds_path, seeds_field or field)
    output = Path(output_path) if output_path is not None else default_output_path(input_path)
    rejects = rejects_path_for(output)

    started = time.perf_counter()
    pool = Pool(seed_texts, threshold=threshold, tokenizer=tokenizer, threads=threads)
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    bar = _progress_bar(len(texts), progress)
    try:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            result = pool.admit(batch)
            for offset, decision in enumerate(result):
                position = start + offset
                if decision.admitted:
                    kept.append(records[position])
                    continue
                best = decision.best_index
                assert best is not None
                rejected.append(
                    {
                        "line": position + 1 if fmt != "json" else None,
                        "index": position,
                        field: texts[position],
                        "most_similar": pool[best],
                        "most_similar_source": "seed" if best < len(seed_texts) else "input",
                        "score": decision.best_score,
                    }
                )
            if bar is not None:
                bar.update(len(batch))
                bar.set_postfix(kept=len(kept), rejected=len(rejected))
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - started

    kept_tmp = _write_atomically(output, _format_kept(kept, field, fmt))
    rejects_tmp = _write_atomically(rejects, lambda handle: handle.writelines(dump_line(r) for r in rejected))
    os.replace(kept_tmp, output)
    os.replace(rejects_tmp, rejects)
    stats = pool.stats()
    return DedupSummary(len(kept), len(rejected), len(seed_texts), stats["pairs_lcs"], seconds, output, rejects)


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="cand", desc="dedup", dynamic_ncols=True)
