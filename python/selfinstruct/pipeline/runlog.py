"""Run logs of a step: every dropped candidate with its reason, and one progress line per batch.

In the output directory:
- `rejects/<step>.jsonl`: {"step", "reason", "text", "request", "most_similar", "score"} per
  dropped candidate (`most_similar`/`score` only for candidates too similar to a pool entry);
- `progress.jsonl` (all steps): {"step", "batch", "pool_size", "candidates", "admitted",
  "dropped": {reason: count}, "prompt_tokens", "completion_tokens", "seconds", "cpu_seconds"} per
  batch ("seconds": wall time; "cpu_seconds": this process's CPU time, all threads, which a loaded
  machine does not inflate the way it does wall time).

Lines are buffered and handed to the journal (`take_appends()`), which appends and fsyncs them
just before its commit line, whose state keeps how much of them is committed: a resumed step
first removes what a killed run wrote after its last commit, so the logs hold each candidate and
batch exactly once. `counts` is the step's one tally of
drop reasons ("dropped_<reason>") beside its kept counters.
"""
from __future__ import annotations

import collections
import contextlib
import json
from pathlib import Path
from typing import Any, Iterator, Optional

from ..atomic_files import write_atomic
from ..records import dump_line
from .jsonline import json_string, json_value

REJECTS_DIR = "rejects"
PROGRESS_FILE = "progress.jsonl"


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


class RunLog:
    """The rejects and progress logs of one step, and its counters."""

    def __init__(self, output_dir: Path, step: str, counts: Optional[collections.Counter] = None) -> None:
        self.step = step
        self._reject_start = '{"step": ' + json_string(step) + ', "reason": '
        self.rejects_path = Path(output_dir) / REJECTS_DIR / f"{step}.jsonl"
        self.progress_path = Path(output_dir) / PROGRESS_FILE
        self.counts: collections.Counter = counts if counts is not None else collections.Counter()
        self._rejects: list[str] = []
        self._progress: list[str] = []
        self._rejects_size: Optional[int] = None
        self._held: Optional[HeldRejects] = None
        self.batch = BatchTally()

    def reject(self, reason: str, text: str, request: Optional[int] = None, most_similar: Optional[str] = None,
               score: Optional[float] = None, number: int = 1) -> None:
        """Count `number` dropped candidates for `reason` and log the one rendered as `text`."""
        if self._held is not None:
            self._held.calls.append((reason, text, request, most_similar, score, number))
            self._held.count += number
            return
        self.counts["dropped_" + reason] += number
        self.batch.dropped[reason] += number
        # dump_line({"step", "reason", "text", "request", "most_similar", "score"}), composed (see jsonline.py)
        line = (self._reject_start + json_string(reason) + ', "text": ' + json_value(text) + ', "request": '
                + json_value(request) + ', "most_similar": ' + json_value(most_similar) + ', "score": '
                + json_value(score) + "}\n")
        self._rejects.extend([line] * number)

    @contextlib.contextmanager
    def held(self) -> Iterator["HeldRejects"]:
        """Rejects made inside are held back (neither counted nor logged) until `release`: a step
        that works on two requests at once logs each request's drops in request order."""
        held = HeldRejects()
        self._held = held
        try:
            yield held
        finally:
            self._held = None

    def release(self, held: "HeldRejects") -> None:
        """Count and log what `held` kept back, in the order it was rejected."""
        for call in held.calls:
            self.reject(*call)

    def pending_rejects(self) -> list[str]:
        """The buffered reject lines, handed over (for a step that publishes its rejects file whole)."""
        lines, self._rejects = self._rejects, []
        return lines

    def end_batch(self, pool_size: int) -> None:
        """Close the current batch: one progress line (written with the next commit)."""
        tally = self.batch
        self._progress.append(dump_line({
            "step": self.step, "batch": tally.index, "pool_size": pool_size, "candidates": tally.candidates,
            "admitted": tally.admitted, "dropped": dict(sorted(tally.dropped.items())),
            "prompt_tokens": tally.prompt_tokens, "completion_tokens": tally.completion_tokens,
            "seconds": round(tally.seconds(), 6), "cpu_seconds": round(tally.cpu_seconds(), 6),
        }))
        self.batch = BatchTally(tally.index + 1)

    def take_appends(self) -> tuple[list[tuple[Path, bytes]], dict[str, Any]]:
        """Hand over the buffered lines as (file, bytes) to append durably, in that order, with what
        the journal commit saves: the logs' positions once those appends are made."""
        appends = []
        if self._rejects:
            self.rejects_path.parent.mkdir(parents=True, exist_ok=True)
            payload = "".join(self._rejects).encode()
            appends.append((self.rejects_path, payload))
            self._rejects_size = self._committed_rejects_size() + len(payload)
        if self._progress:
            appends.append((self.progress_path, "".join(self._progress).encode()))
        self._rejects, self._progress = [], []
        return appends, {"rejects": self._committed_rejects_size(), "progress": self.batch.index,
                         "batch": self.batch.save()}

    def _committed_rejects_size(self) -> int:
        """The rejects file's size once every handed-over append is made (its size when first asked)."""
        if self._rejects_size is None:
            self._rejects_size = _size(self.rejects_path)
        return self._rejects_size

    def recover(self, saved: Optional[dict[str, Any]]) -> None:
        """Cut what a killed run logged after the last commit (`saved`: what `take_appends` returned)."""
        saved = saved or {}
        self.batch = BatchTally.load(saved.get("batch"))
        if _size(self.rejects_path) > saved.get("rejects", 0):
            with open(self.rejects_path, "r+b") as handle:
                handle.truncate(saved.get("rejects", 0))
        self._rejects_size = _size(self.rejects_path)
        self._cut_progress(saved.get("progress", 0))

    def _cut_progress(self, committed: int) -> None:
        """Keep this step's first `committed` progress lines (other steps' lines all stay)."""
        if not self.progress_path.exists():
            return
        data = self.progress_path.read_bytes()
        kept, ours, changed = [], 0, False
        for line in data.splitlines(keepends=True):
            try:
                step = json.loads(line).get("step") if line.endswith(b"\n") else None
            except (json.JSONDecodeError, AttributeError):
                step = None
            if step is None or (step == self.step and ours >= committed):
                changed = True
                continue
            ours += step == self.step
            kept.append(line)
        if changed:
            write_atomic(self.progress_path, b"".join(kept))


class HeldRejects:
    """Rejects held back by `RunLog.held()`: their arguments, and how many candidates they drop."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.count = 0


class BatchTally:
    """Counters of the batch in progress (saved with each commit, so a resumed batch continues)."""

    def __init__(self, index: int = 0) -> None:
        import time

        self.index = index
        self.candidates = 0
        self.admitted = 0
        self.dropped: collections.Counter[str] = collections.Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.elapsed = 0.0
        self._clock = time.perf_counter
        self._since = self._clock()
        self._cpu_clock = time.process_time
        self._cpu_since = self._cpu_clock()

    def seconds(self) -> float:
        return self.elapsed + self._clock() - self._since

    def cpu_seconds(self) -> float:
        return self._cpu_clock() - self._cpu_since

    def save(self) -> dict[str, Any]:
        return {"index": self.index, "candidates": self.candidates, "admitted": self.admitted,
                "dropped": dict(sorted(self.dropped.items())), "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens}

    @classmethod
    def load(cls, saved: Optional[dict[str, Any]]) -> "BatchTally":
        tally = cls(0)
        if saved:
            tally.index = saved["index"]
            tally.candidates, tally.admitted = saved["candidates"], saved["admitted"]
            tally.dropped.update(saved["dropped"])
            tally.prompt_tokens, tally.completion_tokens = saved["prompt_tokens"], saved["completion_tokens"]
        return tally
