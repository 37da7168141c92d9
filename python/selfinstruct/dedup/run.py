"""`dedup_file`: exact greedy ROUGE-L deduplication of one input into a kept file and a rejects file."""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .. import _core
from ..pool import Pool
from .background import ReadAhead, WriteBehind
from .coverage import StreamSample, few_token_warning
from .formats import FORMATS, PARSERS, Records, orjson_loads, stream_records
from .outputs import OutputError, OutputPair, OutputStream, Protected
from .source import STDIN, Block, display_name, read_blocks
from .source_lines import SourceLines

DEFAULT_BATCH = 20_000
FIRST_BATCH = 2_000  # the first admission starts as soon as this many records are read
MAX_THREADS = 1024  # far above any machine's cores; stops absurd values before they reach the engine


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
    parser: str = "core"  # JSONL: the parsers that read it (formats.PARSERS), else the format
    warnings: tuple[str, ...] = ()
    removed_stale: int = 0
    completed: tuple[Path, ...] = ()  # outputs of an earlier run killed while publishing, finished by this run

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
        if self.completed:
            lines.append("finished publishing the outputs of an earlier run that was killed between its two renames: "
                         + ", ".join(map(str, self.completed)))
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
    # Import the optional parser before any temporary file exists: a Ctrl-C landing inside a C
    # extension's first import can kill the interpreter outright, leaving the temporaries behind.
    orjson_loads()

    parsers_used: set[str] = set()
    freeing: threading.Thread | None = None
    try:
        with OutputPair.open(os.fspath(output_path), os.fspath(rejects_path), protected) as outputs:
            with outputs.streams() as (kept_out, rejects_out):
                job = _Streamed(pool, kept_out, rejects_out, progress)
                if seeds_path is not None:
                    job.add_seeds(_read_all(seeds_path, seeds_field or field))
                records = stream_records(display_name(input_path), open_input(input_path), field, input_format)
                job.run(_batches(_noting_parsers(records, parsers_used), batch_size, FIRST_BATCH))
                pairs_scored = int(pool.stats().get("pairs_lcs", 0))
                # The pool is done with: its memory is freed (without the GIL) while the outputs
                # are synced and published.
                last_reference = [pool]
                job.pool = pool = None  # type: ignore[assignment]
                freeing = threading.Thread(target=last_reference.clear, name="dedup-free", daemon=True)
                freeing.start()
                started = time.perf_counter()
            outputs.publish()
            job.write_seconds += time.perf_counter() - started
        warning = few_token_warning(job.sample, lambda: _rejected_texts(outputs.rejects), tokenizer)
    finally:
        if freeing is not None:
            freeing.join()
    return DedupSummary(
        kept=job.kept,
        rejected=job.rejected,
        seeds=job.seeds,
        pairs_verified=pairs_scored,
        seconds=job.admit_seconds,
        output=outputs.kept,
        rejects=outputs.rejects,
        read_seconds=job.read_seconds,
        write_seconds=job.write_seconds,
        parser=", ".join(name for name in PARSERS if name in parsers_used) if job.format == "jsonl" else job.format,
        warnings=(warning,) if warning else (),
        removed_stale=len(outputs.removed_stale),
        completed=tuple(outputs.completed),
    )


def open_input(path: str) -> Iterator[Block]:
    """The input's blocks, read once ("-": stdin)."""
    return read_blocks(path)


def _read_all(path: str, field: str) -> Records:
    parts = list(stream_records(display_name(path), read_blocks(path), field))
    texts = [text for part in parts for text in part.texts]
    lines = array("q")
    for part in parts:
        lines += part.lines
    return Records(parts[0].format, texts, lines, [])


def _noting_parsers(parts: Iterator[Records], used: set[str]) -> Iterator[Records]:
    """The parts, noting in `used` which parser read each."""
    for part in parts:
        used.add(part.parser)
        yield part


def _batches(parts: Iterator[Records], size: int, first: int | None = None) -> Iterator[Records]:
    """The streamed records regrouped into admission batches of `size` (the last one shorter, maybe
    empty), the first one of at most `first` (decisions do not depend on where batches end)."""
    pending: Records | None = None
    wanted = size if first is None else min(first, size)
    for part in parts:
        if pending is None:
            pending = part
        else:
            pending = Records(part.format, pending.texts + part.texts, pending.lines + part.lines, pending.sources + part.sources)
        while len(pending) >= wanted:
            yield _slice(pending, 0, wanted)
            pending = _slice(pending, wanted, len(pending))
            wanted = size
    if pending is not None:
        yield pending


def _slice(records: Records, start: int, stop: int) -> Records:
    return Records(records.format, records.texts[start:stop], records.lines[start:stop], records.sources[start:stop])


@dataclass
class _Decided:
    """One admitted batch, handed to the writer thread."""

    batch: Records
    first: int  # input position of the batch's first record
    kept: np.ndarray  # batch positions of the admitted records (int64)
    base: int  # pool index of the first of them
    rejected: np.ndarray  # batch positions of the rejected records (int64)
    best: np.ndarray  # most similar pool entry of each reject (int64)
    scores: np.ndarray  # and its F (float64)
    earlier: np.ndarray  # those entries that joined the pool before this batch, ascending (int64)
    earlier_texts: list[str]  # and their texts


class _Streamed:
    """Admits batches as they are read and writes each batch's kept records and rejects at once, so
    no more than a few batches of input records are held. Parsing (the next batches) and writing
    (the previous ones) run in threads beside the admission, which releases the GIL."""

    def __init__(self, pool: Pool, kept_out: OutputStream, rejects_out: OutputStream, progress: bool) -> None:
        self.pool = pool
        self.kept_out, self.rejects_out = kept_out, rejects_out
        self.progress = progress
        self.pool_lines = array("q")  # line of each pool entry in its file (seeds first); the writer's
        self.seeds = self.kept = self.rejected = 0
        self.format = "jsonl"
        self.sample = StreamSample()
        self.read_seconds = self.admit_seconds = self.write_seconds = 0.0

    def add_seeds(self, seeds: Records) -> None:
        started = time.perf_counter()
        self.pool.add(seeds.texts)
        self.pool_lines += seeds.lines
        self.seeds = len(seeds)
        self.admit_seconds += time.perf_counter() - started

    def run(self, batches: Iterator[Records]) -> None:
        bar = _progress_bar(self.progress)
        reader: ReadAhead[Records] = ReadAhead(batches, name="dedup-read")
        writer: WriteBehind[_Decided] = WriteBehind(self._write, name="dedup-write")
        try:
            for batch in reader:
                if self.kept + self.rejected == 0:
                    self.format = batch.format
                writer.submit(self._admit(batch))
                if bar is not None:
                    bar.update(len(batch))
                    bar.set_postfix(kept=self.kept, rejected=self.rejected)
            writer.finish()
        finally:
            reader.close()
            writer.close()
            self.read_seconds += reader.busy_seconds
            self.write_seconds += writer.busy_seconds
            if bar is not None:
                bar.close()
        started = time.perf_counter()
        if self.format == "json":
            self.kept_out.write(b"\n]\n" if self.kept else b"[]\n")
        self.write_seconds += time.perf_counter() - started

    def _admit(self, batch: Records) -> _Decided:
        started = time.perf_counter()
        result = self.pool.admit(batch.texts)
        self.admit_seconds += time.perf_counter() - started
        admitted = result.index >= 0
        kept = np.flatnonzero(admitted)
        base = self.seeds + self.kept
        assert not kept.size or result.index[kept[0]] == base, "pool indices follow admission order"
        rejected = np.flatnonzero(~admitted)
        best = result.best_index[rejected]
        # Read here, between admissions (the pool is locked while it admits), all at once.
        earlier = np.unique(best[best < base])
        decided = _Decided(batch, self.kept + self.rejected, kept, base, rejected, best, result.best_score[rejected],
                           earlier, self.pool.texts_at(earlier))
        self.sample.extend(batch.texts)
        self.kept += len(kept)
        self.rejected += len(decided.rejected)
        return decided

    def _write(self, decided: _Decided) -> None:
        batch, kept = decided.batch, decided.kept
        if kept.size:
            self.pool_lines.frombytes(np.frombuffer(batch.lines, dtype=np.int64)[kept].tobytes())
            self._write_kept(batch.sources, kept, first=decided.base == self.seeds)
        self._write_rejects(decided)

    def _write_kept(self, sources: SourceLines, kept: np.ndarray, first: bool) -> None:
        """Kept records exactly as in the input: JSONL and text one per line, JSON items in a list."""
        if self.format == "json":
            self.kept_out.write(sources.joined(kept, b",\n", prefix=b"[\n" if first else b",\n"))
        else:
            self.kept_out.write(sources.joined(kept, b"\n", suffix=b"\n"))

    def _write_rejects(self, decided: _Decided) -> None:
        """One JSON line per reject, the text json.dumps gives, formatted by the core (hot path).

        The most similar text is taken from the batch when it was admitted in this batch (batch
        position kept[pool index - base]), else from the texts read from the pool (position
        -1 - k picks earlier_texts[k] in _core._pick)."""
        rejected, best = decided.rejected, decided.best
        if rejected.size == 0:
            return
        texts, base = decided.batch.texts, decided.base
        in_batch = best >= base
        similar = np.empty(best.size, dtype=np.int64)
        similar[in_batch] = decided.kept[best[in_batch] - base]
        similar[~in_batch] = -1 - np.searchsorted(decided.earlier, best[~in_batch])
        self.rejects_out.write(_core._reject_lines(
            np.frombuffer(decided.batch.lines, dtype=np.int64)[rejected],
            rejected + decided.first,
            _core._pick(texts, rejected, []),
            _core._pick(texts, similar, decided.earlier_texts),
            best < self.seeds,
            np.frombuffer(self.pool_lines, dtype=np.int64)[best],
            decided.scores,
        ))


def _rejected_texts(rejects: Path) -> Iterator[str]:
    with open(rejects, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)["text"]


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit="cand", desc="dedup", dynamic_ncols=True)
