"""Durable, resumable step output: an append-only data file plus a commit log.

Each unit of work (a group of requests of a step) is made durable in two appends,
both fsynced: first its records to the data file, then one commit line to the state file that
says how many bytes and lines of the data file are committed, with the step's counters. A kill
at any moment leaves at most one uncommitted tail (or a torn line) behind; on restart the journal
truncates the data file back to the last commit and the step redoes that unit. Nothing committed is
lost, nothing is written twice, and since every request's randomness is a pure function of
(run seed, step, request index) the redone unit is the one an uninterrupted run would have made.

Test hook: SELFINSTRUCT_CRASH_AT="<step>.<point>@<n>" kills the process with SIGKILL the n-th time
it reaches <point>: before_commit (data appended, commit not), after_commit, torn_data or
torn_state (half of the append written).
"""
from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import queue
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from ..records import RecordError, dump_line, read_jsonl
from .publish import fsync_dir as _fsync_dir

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


def _append(path: Path, payload: bytes, torn_point: Optional[str] = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if torn_point is not None and crashpoint(torn_point):
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


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


def _complete_size(path: Path) -> int:
    """The size of a file up to its last newline (a torn last line excluded), read from the end."""
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            step = min(1 << 16, position)
            handle.seek(position - step)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                return position - step + newline + 1
            position -= step
    return 0


def _lines(path: Path, limit: Optional[int] = None) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a file's newline-terminated lines, streamed; at most `limit` bytes read."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        remaining = limit
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                return  # a torn last line
            if remaining is not None:
                remaining -= len(line)
                if remaining < 0:
                    return
            yield number, line


def _count_lines(path: Path, size: int) -> int:
    count = 0
    with open(path, "rb") as handle:
        while size > 0:
            chunk = handle.read(min(1 << 22, size))
            if not chunk:
                break
            count += chunk.count(b"\n")
            size -= len(chunk)
    return count


try:  # a faster parser for long journals when installed; the standard one decides on any doubt
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is optional
    _fast_loads = None


def _parse(line: bytes, path: Path, number: int) -> Any:
    if _fast_loads is not None:
        try:
            return _fast_loads(line)
        except ValueError:
            pass
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordError(path, number, f"malformed JSON ({getattr(error, 'msg', error)})") from None


def last_commit(state_path: Path) -> Optional[dict[str, Any]]:
    """The last commit line of a state file (None without one), reading only the file's end."""
    size = _complete_size(state_path)
    if not size:
        return None
    with open(state_path, "rb") as handle:
        start = max(0, size - (1 << 20))
        handle.seek(start)
        tail = handle.read(size - start).splitlines()
    try:
        entry = json.loads(tail[-1])
    except (json.JSONDecodeError, IndexError):
        return None
    return entry if "commit" in entry else None


class FileLock:
    """An exclusive, non-blocking lock on `<path>`; the lock file is removed again on release.

    After locking, the path must still name the locked file: a run that removed it on release
    (while we waited to lock the old one) makes us retry on the new file.
    """

    def __init__(self, path: Path, busy_message: str) -> None:
        self.path = Path(path)
        self.busy_message = busy_message
        self._fd: Optional[int] = None

    def __enter__(self) -> "FileLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RuntimeError(self.busy_message) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            try:
                os.unlink(self.path)  # while still locked: nobody can hold a lock on it now
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None


Appends = Sequence[tuple[Path, bytes]]  # (file, bytes to append durably)


class _Writer:
    """One thread that makes handed-over commits durable, in order, so that the caller goes on
    while the disk syncs. At most `depth` commits wait; after a failure the rest are not written
    (no commit line can follow a failed append) and the failure is raised to the caller."""

    def __init__(self, write: Callable[[Any], None], depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def put(self, work: Any) -> None:
        self.check()
        self._queue.put(work)

    def wait(self) -> None:
        """Return once everything handed over is durable (or raise why it is not)."""
        self._queue.join()
        self.check()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            try:
                if work is None:
                    return
                if self.error is None:
                    self._write(work)
            except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
                self.error = error
            finally:
                self._queue.task_done()


class Journal:
    """The data file and commit log of one step; use as a context manager (holds a lock).

    `recover()` brings both files back to the last commit and returns its state; `records()` then
    streams the committed records (nothing is held in memory). With `background=True`, commits are
    written and fsynced by a writer thread in commit order while the caller goes on: a commit is
    durable once a later `wait()` (or leaving the context) returns, and a kill before that loses at
    most the last few commits, which a resumed run redoes.
    """

    def __init__(self, step: str, data_path: Path, state_path: Path, settings: dict[str, Any],
                 background: bool = False) -> None:
        self.step = step
        self.data_path = Path(data_path)
        self.state_path = Path(state_path)
        self.settings = settings
        self.data_bytes = 0
        self.data_lines = 0
        self.commits = 0
        self.background = background
        self._writer: Optional[_Writer] = None
        self._lock = FileLock(self.state_path.with_name(self.state_path.name + ".lock"),
                              f"another run is writing {self.data_path}: wait for it or stop it first")

    def __enter__(self) -> "Journal":
        self._lock.__enter__()
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if self._writer is not None:
                self._writer.close()  # what was handed over is written, whatever ended the step
                if kind is None:
                    self._writer.check()
                elif self._writer.error is not None:
                    LOG.error("%s: writing the journal failed too: %s", self.step, self._writer.error)
        finally:
            self._writer = None
            self._lock.__exit__(kind, *exc)

    def wait(self) -> None:
        """Return once every commit is durable (at once without a background writer)."""
        if self._writer is not None:
            self._writer.wait()

    def recover(
        self, adopt: Optional[Callable[[list[dict[str, Any]]], dict[str, Any]]] = None
    ) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
        """Bring the files back to the last commit; return (committed records, last commit's state).

        A data file without a commit log (e.g. written by the reference code) is adopted whole,
        with `adopt(records)` giving the state to resume from. Large steps use `recover_state()`
        and stream `records()` instead of holding every record.
        """
        state = self.recover_state(adopt)
        return list(self.records()), state

    def recover_state(self, adopt: Optional[Callable[[list[dict[str, Any]]], dict[str, Any]]] = None) -> Optional[dict[str, Any]]:
        """`recover()` without loading the records: returns the last commit's state."""
        good_size = _complete_size(self.state_path)
        if self.state_path.exists() and self.state_path.stat().st_size != good_size:
            LOG.info("%s: removing a torn last line from %s", self.step, self.state_path)
            _truncate(self.state_path, good_size)
        header: Optional[dict[str, Any]] = None
        last: Optional[dict[str, Any]] = None
        for number, line in _lines(self.state_path):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise RecordError(self.state_path, number, "malformed state line: delete the state file to start over") from None
            if header is None:
                header = entry
            else:
                last = entry
                self.commits += 1
        if header is None:
            return self._start(adopt)
        if header.get("journal") != STATE_VERSION or header.get("step") != self.step:
            raise RecordError(self.state_path, 1, f"not a {self.step!r} state file of version {STATE_VERSION}")
        self._warn_changed(header.get("settings", {}))
        last = last or {"data_bytes": 0, "data_lines": 0, "state": None}
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
        lines = _count_lines(self.data_path, self.data_bytes) if self.data_bytes else 0
        if lines != self.data_lines:
            raise RuntimeError(f"{self.data_path} has {lines} records, {self.state_path} says {self.data_lines}")
        if self.commits:
            LOG.info("%s: resuming after %d commits (%d records in %s)", self.step, self.commits, lines,
                     self.data_path.name)
        return last["state"]

    def records(self) -> Iterator[dict[str, Any]]:
        """The committed records, streamed from the data file."""
        for number, line in self.lines():
            yield _parse(line, self.data_path, number)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) of the committed records."""
        self.wait()
        return _lines(self.data_path, self.data_bytes)

    def _start(self, adopt: Optional[Callable[[list[dict[str, Any]]], dict[str, Any]]]) -> Optional[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        if self.data_path.exists() and self.data_path.stat().st_size:
            if adopt is None:
                raise RuntimeError(f"{self.data_path} exists without its state file {self.state_path}: move it away")
            _truncate(self.data_path, _complete_size(self.data_path))
            records = [record for _, record in read_jsonl(self.data_path)]
            LOG.info("%s: adopting %d records of %s (no state file)", self.step, len(records), self.data_path)
        else:
            self.data_path.parent.mkdir(parents=True, exist_ok=True)
            self.data_path.write_bytes(b"")
        header = {"journal": STATE_VERSION, "step": self.step, "settings": self.settings}
        _append(self.state_path, dump_line(header).encode(), f"{self.step}.torn_state")
        _fsync_dir(self.state_path.parent)
        _fsync_dir(self.data_path.parent)
        if not records:
            return None
        self.data_bytes = self.data_path.stat().st_size
        self.data_lines = len(records)
        state = adopt(records) if adopt else {}
        self.commit([], state)
        return state

    def _warn_changed(self, saved: dict[str, Any]) -> None:
        changed = sorted(key for key in set(saved) | set(self.settings) if saved.get(key) != self.settings.get(key))
        if changed:
            LOG.warning("%s: resuming with changed settings (%s): the result will differ from a run with either",
                        self.step, ", ".join(changed))

    def commit(self, records: Sequence[Union[dict[str, Any], str]], state: dict[str, Any], logs: Appends = ()) -> None:
        """Append `logs` (other files' lines that this commit's state counts), the records, then the
        commit line that makes them (and `state`) durable; each append fsynced before the next.

        A record is a dict, or its line already encoded as `dump_line` would (a str ending in a newline).
        """
        payload = "".join(record if isinstance(record, str) else dump_line(record) for record in records).encode()
        self.data_bytes += len(payload)
        self.data_lines += len(records)
        self.commits += 1
        line = {"commit": self.commits, "data_bytes": self.data_bytes, "data_lines": self.data_lines, "state": state}
        work = (tuple(logs), payload, dump_line(line).encode())  # encoded now: the state may change after we return
        if not self.background:
            self._write(work)
            return
        if self._writer is None:
            self._writer = _Writer(self._write)
        self._writer.put(work)

    def _write(self, work: tuple[Appends, bytes, bytes]) -> None:
        logs, payload, line = work
        for path, data in logs:
            _append(path, data)
        if payload:
            _append(self.data_path, payload, f"{self.step}.torn_data")
        crashpoint(f"{self.step}.before_commit")
        _append(self.state_path, line, f"{self.step}.torn_state")
        crashpoint(f"{self.step}.after_commit")


def committed_records(data_path: Path, state_path: Path) -> Iterator[dict[str, Any]]:
    """Another step's committed records, streamed read-only: an uncommitted or torn tail is ignored.

    A data file without a state file (e.g. from the reference code) is read whole, minus a torn line.
    """
    if not data_path.exists():
        return
    commit = last_commit(state_path)
    limit = commit["data_lines"] if commit else (0 if _complete_size(state_path) else None)
    count = 0
    for number, line in _lines(data_path):
        if limit is not None and count >= limit:
            break
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise RecordError(data_path, number, f"malformed JSON ({error.msg})") from None
        count += 1
        yield record


def read_committed(data_path: Path, state_path: Path) -> list[dict[str, Any]]:
    """`committed_records` as a list (for small files and tests)."""
    return list(committed_records(data_path, state_path))
