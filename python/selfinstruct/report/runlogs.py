"""A run's own logs: every dropped candidate (rejects/<step>.jsonl) and one line per batch (progress.jsonl).

Runs made before the bootstrap kept these logs have neither; `read_run_logs` then returns None and
the report leaves the run section out with a note. Logs can be large (every rejected candidate of a
long run): they are streamed, keeping counts and the first few examples of each reason only.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..records import RecordError
from .records import iter_rows

REJECTS_DIR = "rejects"
PROGRESS_FILE = "progress.jsonl"
STEP_ORDER = ("generate-instructions", "generate-tasks", "identify-clf", "generate-instances", "prepare-finetuning")


@dataclass
class RejectExample:
    """One dropped candidate as the run logged it."""

    text: str
    most_similar: Optional[str] = None
    score: Optional[float] = None


@dataclass
class RunLogs:
    """Drop counts and examples per step and reason, and the per-batch progress lines."""

    drops: dict[str, collections.Counter] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[RejectExample]] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)

    def steps(self) -> list[str]:
        """Steps that logged anything, in pipeline order (unknown names last)."""
        names = set(self.drops) | {str(batch["step"]) for batch in self.batches}
        return sorted(names, key=lambda name: (STEP_ORDER.index(name) if name in STEP_ORDER else len(STEP_ORDER), name))


def _number(path: Path, line: int, record: dict[str, Any], key: str, kind: type = int) -> Any:
    value = record.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (kind is int and not isinstance(value, int)):
        raise RecordError(path, line, f"field {key!r} is {value!r:.40}, expected a number")
    return value


def _read_rejects(path: Path, logs: RunLogs, examples_per_reason: int) -> None:
    for line, record in iter_rows(path):
        step, reason = str(record.get("step") or path.stem), str(record.get("reason") or "unknown")
        logs.drops.setdefault(step, collections.Counter())[reason] += 1
        shown = logs.examples.setdefault((step, reason), [])
        if len(shown) < examples_per_reason:
            score = record.get("score")
            similar = record.get("most_similar")
            shown.append(RejectExample(str(record.get("text", "")), similar if isinstance(similar, str) else None,
                                       float(score) if isinstance(score, (int, float)) else None))


def _read_progress(path: Path, logs: RunLogs) -> None:
    for line, record in iter_rows(path):
        batch = {"step": str(record.get("step", "")), "batch": _number(path, line, record, "batch"),
                 "pool_size": _number(path, line, record, "pool_size"),
                 "candidates": _number(path, line, record, "candidates"),
                 "admitted": _number(path, line, record, "admitted"),
                 "completion_tokens": _number(path, line, record, "completion_tokens"),
                 "seconds": _number(path, line, record, "seconds", float)}
        logs.batches.append(batch)


def read_run_logs(run_dir: Path, examples_per_reason: int = 3) -> Optional[RunLogs]:
    """The run logs of an output directory, or None when it has none (a run from before they existed)."""
    rejects = sorted((Path(run_dir) / REJECTS_DIR).glob("*.jsonl"))
    progress = Path(run_dir) / PROGRESS_FILE
    if not rejects and not progress.exists():
        return None
    logs = RunLogs()
    for path in rejects:
        _read_rejects(path, logs, examples_per_reason)
    if progress.exists():
        _read_progress(progress, logs)
    return logs
