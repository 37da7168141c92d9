"""Durable, resumable step output: an append-only data file plus a commit log.

Each unit of work (a round of step 1, a batch of steps 2 and 3) is made durable in two appends,
both fsynced: first its records to the data file, then one commit line to the state file that
says how many bytes and lines of the data file are committed, with the step's counters. A kill
at any moment leaves at most one uncommitted tail (or a torn line) behind; on restart the journal
truncates the data file back to the last commit and the step redoes that unit. Nothing committed is
lost, nothing is written twice, and since every round's randomness is a pure function of
(run seed, step, round number) the redone unit is the one an uninterrupted run would have made.

Test hook: SELFINSTRUCT_CRASH_AT="<step>.<point>@<n>" kills the process with SIGKILL the n-th time
it reaches <point>: before_commit (data appended, commit not), after_commit, torn_data or
torn_state (half of the append written).
"""
from __future__ import annotations

import collections
import fcntl
import hashlib
import json
import logging
import os
import random
import signal
from pathlib import Path
from typing import Any, Callable, Optional

from ..records import RecordError, dump_line, read_jsonl

LOG = logging.getLogger("selfinstruct.pipeline")
CRASH_ENV = "SELFINSTRUCT_CRASH_AT"
STATE_VERSION = 1
_hits: collections.Counter[str] = collections.Counter()


def crashpoint(name: str) -> bool:
    """Kill this process if SELFINSTRUCT_CRASH_AT names this point and hit count (tests only).

    Returns True when the caller should simulate a torn write first (the `torn_*` points).
    """
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return False
    target, _, count = spec.partition("@")
    if target != name:
        return False
    _hits[name] += 1
    if _hits[name] != int(count or 1):
        return False
    if name.endswith(("torn_data", "torn_state")):
        return True
    os.kill(os.getpid(), signal.SIGKILL)
    return False  # pragma: no cover


def derive_seed(seed: int, *parts: Any) -> int:
    """A 31-bit seed that depends only on the run seed and the given parts (stable across runs)."""
    digest = hashlib.sha256(json.dumps([seed, *parts]).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def round_rng(seed: int, step: str, round_index: int) -> random.Random:
    """The RNG of one round: its whole state follows from what the commit log saves (seed, round)."""
    return random.Random(derive_seed(seed, step, "rng", round_index))


def _append(path: Path, payload: bytes, torn_point: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if crashpoint(torn_point):
            os.write(fd, payload[: max(1, len(payload) // 2)])
            os.fsync(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


def _complete_lines(path: Path) -> tuple[list[bytes], int]:
    """The newline-terminated lines of a file and their total size (a torn last line excluded)."""
    data = path.read_bytes() if path.exists() else b""
    end = data.rfind(b"\n") + 1
    return data[:end].splitlines(keepends=True), end


class Journal:
    """The data file and commit log of one step; use as a context manager (holds a lock)."""

    def __init__(self, step: str, data_path: Path, state_path: Path, settings: dict[str, Any]) -> None:
        self.step = step
        self.data_path = Path(data_path)
        self.state_path = Path(state_path)
        self.settings = settings
        self.data_bytes = 0
        self.data_lines = 0
        self.commits = 0
        self._lock_fd: Optional[int] = None

    def __enter__(self) -> "Journal":
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.state_path.with_name(self.state_path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"another run is writing {self.data_path}: wait for it or stop it first") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def recover(
        self, adopt: Optional[Callable[[list[dict[str, Any]]], dict[str, Any]]] = None
    ) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
        """Bring the files back to the last commit; return (committed records, last commit's state).

        A data file without a commit log (e.g. written by the reference code) is adopted whole,
        with `adopt(records)` giving the state to resume from.
        """
        lines, good_size = _complete_lines(self.state_path)
        if self.state_path.exists() and self.state_path.stat().st_size != good_size:
            LOG.info("%s: removing a torn last line from %s", self.step, self.state_path)
            _truncate(self.state_path, good_size)
        entries = []
        for number, line in enumerate(lines, start=1):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                raise RecordError(self.state_path, number, "malformed state line: delete the state file to start over") from None
        if not entries:
            return self._start(adopt)
        header, commits = entries[0], entries[1:]
        if header.get("journal") != STATE_VERSION or header.get("step") != self.step:
            raise RecordError(self.state_path, 1, f"not a {self.step!r} state file of version {STATE_VERSION}")
        self._warn_changed(header.get("settings", {}))
        last = commits[-1] if commits else {"data_bytes": 0, "data_lines": 0, "state": None}
        self.commits = len(commits)
        self.data_bytes, self.data_lines = last["data_bytes"], last["data_lines"]
        size = self.data_path.stat().st_size if self.data_path.exists() else 0
        if size < self.data_bytes:
            raise RuntimeError(
                f"{self.data_path} has {size} bytes but {self.state_path} committed {self.data_bytes}: the file was "
                f"edited or removed; restore it, or delete both files to start this step over"
            )
        if size > self.data_bytes:
            LOG.info("%s: dropping %d uncommitted bytes of %s", self.step, size - self.data_bytes, self.data_path)
            _truncate(self.data_path, self.data_bytes)
        records = [record for _, record in read_jsonl(self.data_path)] if self.data_path.exists() else []
        if len(records) != self.data_lines:
            raise RuntimeError(f"{self.data_path} has {len(records)} records, {self.state_path} says {self.data_lines}")
        if self.commits:
            LOG.info("%s: resuming after %d commits (%d records in %s)", self.step, self.commits, len(records),
                     self.data_path.name)
        return records, last["state"]

    def _start(self, adopt: Optional[Callable[[list[dict[str, Any]]], dict[str, Any]]]) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
        records: list[dict[str, Any]] = []
        if self.data_path.exists() and self.data_path.stat().st_size:
            if adopt is None:
                raise RuntimeError(f"{self.data_path} exists without its state file {self.state_path}: move it away")
            _, good_size = _complete_lines(self.data_path)
            _truncate(self.data_path, good_size)
            records = [record for _, record in read_jsonl(self.data_path)]
            LOG.warning("%s: adopting %d records of %s (no state file)", self.step, len(records), self.data_path)
        else:
            self.data_path.parent.mkdir(parents=True, exist_ok=True)
            self.data_path.write_bytes(b"")
        header = {"journal": STATE_VERSION, "step": self.step, "settings": self.settings}
        _append(self.state_path, dump_line(header).encode(), f"{self.step}.torn_state")
        _fsync_dir(self.state_path.parent)
        _fsync_dir(self.data_path.parent)
        if not records:
            return [], None
        self.data_bytes = self.data_path.stat().st_size
        self.data_lines = len(records)
        state = adopt(records) if adopt else {}
        self.commit([], state)
        return records, state

    def _warn_changed(self, saved: dict[str, Any]) -> None:
        changed = sorted(key for key in set(saved) | set(self.settings) if saved.get(key) != self.settings.get(key))
        if changed:
            LOG.warning("%s: resuming with changed settings (%s): the result will differ from a run with either",
                        self.step, ", ".join(changed))

    def commit(self, records: list[dict[str, Any]], state: dict[str, Any]) -> None:
        """Append records, then the commit line that makes them (and `state`) durable."""
        payload = "".join(dump_line(record) for record in records).encode()
        if payload:
            _append(self.data_path, payload, f"{self.step}.torn_data")
        crashpoint(f"{self.step}.before_commit")
        self.data_bytes += len(payload)
        self.data_lines += len(records)
        self.commits += 1
        line = {"commit": self.commits, "data_bytes": self.data_bytes, "data_lines": self.data_lines, "state": state}
        _append(self.state_path, dump_line(line).encode(), f"{self.step}.torn_state")
        crashpoint(f"{self.step}.after_commit")


def read_committed(data_path: Path, state_path: Path) -> list[dict[str, Any]]:
    """Another step's committed records, read-only: an uncommitted or torn tail is ignored.

    A data file without a state file (e.g. from the reference code) is read whole, minus a torn line.
    """
    if not data_path.exists():
        return []
    lines, _ = _complete_lines(state_path)
    limit: Optional[int] = None
    if lines:
        try:
            entries = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise RecordError(state_path, len(lines), "malformed state line") from None
        limit = entries[-1].get("data_lines", 0) if len(entries) > 1 else 0
    records = []
    for number, line in enumerate(_complete_lines(data_path)[0], start=1):
        if limit is not None and len(records) >= limit:
            break
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise RecordError(data_path, number, f"malformed JSON ({error.msg})") from None
    return records
