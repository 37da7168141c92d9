"""`dedup_file`: exact greedy ROUGE-L deduplication of one input into a kept file and a rejects file."""
from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..pool import Pool
from .coverage import few_token_warning
from .formats import FORMATS, Records, orjson_loads, parse_records
from .outputs import OutputError, OutputPair, Protected
from .source import STDIN, read_source

DEFAULT_BATCH = 20_000
MAX_THREADS = 1024  # far above any machine's cores; stops absurd values before they reach the engine
_WRITE_CHUNK = 65_536  # records joined per write call


@dataclass(frozen=True)
class DedupSummary:
    """What a dedup run did, and where its time went."""

    kept: int
    rejected: int
    seeds: int
    pairs_verified: int
    seconds: float  # admission
    output: Path
    rejects: Path
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    parser: str = "json"
    warnings: tuple[str, ...] = ()
    removed_stale: int = 0

    def describe(self) -> str:
        total = self.kept + self.rejected
        rate = total / self.seconds if self.seconds > 0 else float("inf")
        lines = [
            f"kept {self.kept:,} of {total:,} ({self.rejected:,} rejected) against {self.seeds:,} seeds; "
            f"{self.pairs_verified:,} pairs scored by LCS; {self.seconds:.2f} s ({rate:,.0f} candidates/s)",
            f"time: read {self.read_seconds:.2f} s ({self.parser}), admission {self.seconds:.2f} s, write {self.write_seconds:.2f} s",
            f"kept    -> {self.output}",
            f"rejects -> {self.rejects}",
        ]
        if self.removed_stale:
            lines.append(f"removed {self.removed_stale} temporary file(s) left beside the outputs by killed runs")
        return "\n".join(lines)


def default_output_path(input_path: str | os.PathLike[str]) -> Path:
    """INPUT.dedup.EXT beside the input (INPUT.dedup if it has no suffix)."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.dedup{path.suffix}")


def rejects_path_for(output: str | os.PathLike[str]) -> Path:
    """The default rejects file of an output file: OUTPUT (without its suffix).rejects.jsonl."""
    output = Path(output)
    return output.with_name(f"{output.stem if output.suffix else output.name}.rejects.jsonl")


def _check_options(batch_size: int, threads: int | None, input_format: str | None) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if threads is not None and threads != -1:
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be between 1 and {MAX_THREADS}, -1 or None (all cores), got {threads!r}")
    if input_format is not None and input_format not in FORMATS:
        raise ValueError(f"unknown format {input_format!r}: use one of {', '.join(FORMATS)}")


def _protected_inputs(input_path: str, seeds_path: str | None) -> list[Protected]:
    if input_path == STDIN and seeds_path == STDIN:
        raise ValueError("the input and the seeds cannot both be standard input ('-')")
    protected = [Protected.of("input", input_path, stdin=input_path == STDIN)]
    if seeds_path is not None:
        protected.append(Protected.of("seeds file", seeds_path, stdin=seeds_path == STDIN))
    return protected


def dedup_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    rejects_path: str | os.PathLike[str] | None = None,
    field: str = "instruction",
    threshold: float = 0.7,
    seeds_path: str | os.PathLike[str] | None = None,
    seeds_field: str | None = None,
    tokenizer: str = "rouge",
    threads: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    input_format: str | None = None,
    progress: bool = True,
) -> DedupSummary:
    """Deduplicate `input_path` ("-": stdin) into `output_path` (default INPUT.dedup.EXT) and a rejects file.

    A candidate is kept iff its ROUGE-L F against every seed and every record kept before it is at
    most `threshold`. Kept records are written exactly as they appear in the input (JSONL lines,
    JSON list items, text lines); the rejects file (default OUTPUT.rejects.jsonl) has one JSON
    object per reject: its line, its text, its most similar seed or kept text, that text's source
    and line, and the score. Seeds join the pool first and are not written out.

    Outputs are checked before any work and published both-or-neither (docs/dedup.md). Raises
    RecordError (file:line) for bad input, OutputError for outputs that cannot or must not be
    written, ValueError for bad options; nothing is written then.
    """
    _check_options(batch_size, threads, input_format)
    input_path = os.fspath(input_path)
    seeds_path = None if seeds_path is None else os.fspath(seeds_path)
    protected = _protected_inputs(input_path, seeds_path)
    if output_path is None:
        if input_path == STDIN or not stat.S_ISREG(os.stat(input_path).st_mode):
            raise OutputError("the input is not a regular file: give the output path (-o)")
        output_path = default_output_path(input_path)
        if rejects_path is None:  # INPUT.dedup.rejects.jsonl, also for an input without a suffix
            rejects_path = Path(input_path).with_name(f"{Path(input_path).stem}.dedup.rejects.jsonl")
    if rejects_path is None:
        rejects_path = rejects_path_for(output_path)
    # Built first so that bad options fail before anything is read.
    pool = Pool((), threshold=threshold, tokenizer=tokenizer, threads=None if threads == -1 else threads)

    with OutputPair.open(os.fspath(output_path), os.fspath(rejects_path), protected) as outputs:
        started = time.perf_counter()
        records = parse_records(read_source(input_path), field, input_format)
        seeds = parse_records(read_source(seeds_path), seeds_field or field) if seeds_path is not None else None
        read_seconds = time.perf_counter() - started

        started = time.perf_counter()
        if seeds is not None:
            pool.add(seeds.texts)
        pool_index, best_index, best_score = _admit_all(pool, records.texts, batch_size, progress)
        seconds = time.perf_counter() - started

        started = time.perf_counter()
        kept_positions = np.flatnonzero(pool_index >= 0)
        outputs.write("kept", _kept_writer(records, kept_positions))
        rejected_positions = np.flatnonzero(pool_index < 0)
        outputs.write("rejects", _rejects_writer(records, seeds, pool_index, rejected_positions, best_index, best_score))
        outputs.publish()
        write_seconds = time.perf_counter() - started

    warning = few_token_warning(records.texts, rejected_positions.tolist(), tokenizer)
    is_jsonl = records.format == "jsonl"
    return DedupSummary(
        kept=len(kept_positions),
        rejected=len(rejected_positions),
        seeds=len(seeds) if seeds is not None else 0,
        pairs_verified=int(pool.stats().get("pairs_lcs", 0)),
        seconds=seconds,
        output=outputs.kept,
        rejects=outputs.rejects,
        read_seconds=read_seconds,
        write_seconds=write_seconds,
        parser=("orjson" if orjson_loads() is not None else "json") if is_jsonl else records.format,
        warnings=(warning,) if warning else (),
        removed_stale=len(outputs.removed_stale),
    )


def _admit_all(pool: Pool, texts: list[str], batch_size: int, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pool index or -1, best pool index, best score) of every candidate, admitted in batches."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    bar = _progress_bar(len(texts), progress)
    kept = 0
    try:
        for start in range(0, len(texts), batch_size):
            result = pool.admit(texts[start : start + batch_size])
            parts.append((result.index, result.best_index, result.best_score))
            if bar is not None:
                kept += result.num_admitted
                bar.update(len(result))
                bar.set_postfix(kept=kept, rejected=bar.n - kept)
    finally:
        if bar is not None:
            bar.close()
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]


def _kept_writer(records: Records, positions: np.ndarray) -> Callable[[Callable[[str], object]], None]:
    """Kept records exactly as in the input: JSONL and text one per line, JSON items in a list."""

    def fill(write: Callable[[str], object]) -> None:
        order = positions.tolist()
        separator = ",\n" if records.format == "json" else "\n"
        if records.format == "json":
            write("[\n" if order else "[]\n")
        for start in range(0, len(order), _WRITE_CHUNK):
            chunk = separator.join(records.sources[k] for k in order[start : start + _WRITE_CHUNK])
            write((separator if start else "") + chunk)
        if order:
            write("\n]\n" if records.format == "json" else "\n")

    return fill


def _rejects_writer(
    records: Records,
    seeds: Records | None,
    pool_index: np.ndarray,
    positions: np.ndarray,
    best_index: np.ndarray,
    best_score: np.ndarray,
) -> Callable[[Callable[[str], object]], None]:
    """One JSON line per reject; the same text json.dumps gives, built directly (hot path)."""
    encode = json.encoder.encode_basestring  # type: ignore[attr-defined]
    input_of_pool = np.full((len(seeds) if seeds is not None else 0) + len(records), -1, dtype=np.int64)  # pool index -> input position
    admitted = np.flatnonzero(pool_index >= 0)
    input_of_pool[pool_index[admitted]] = admitted

    def fill(write: Callable[[str], object]) -> None:
        texts = records.texts
        line_of = np.frombuffer(records.lines, dtype=np.int64)
        best = best_index[positions]
        similar_input = input_of_pool[best]  # -1 where the most similar text is a seed
        rows = zip(positions.tolist(), line_of[positions].tolist(), best.tolist(), similar_input.tolist(),
                   line_of[np.maximum(similar_input, 0)].tolist(), best_score[positions].tolist())
        out: list[str] = []
        for position, line, best_pool, kept, similar_line, score in rows:
            if kept >= 0:
                similar, source = texts[kept], "input"
            else:
                assert seeds is not None
                similar, source, similar_line = seeds.texts[best_pool], "seed", seeds.lines[best_pool]
            out.append(
                f'{{"line": {line}, "index": {position}, "text": {encode(texts[position])}, '
                f'"most_similar": {encode(similar)}, "most_similar_source": "{source}", "most_similar_line": {similar_line}, '
                f'"score": {score!r}}}\n'
            )
            if len(out) == _WRITE_CHUNK:
                write("".join(out))
                out.clear()
        write("".join(out))

    return fill


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="cand", desc="dedup", dynamic_ncols=True)
