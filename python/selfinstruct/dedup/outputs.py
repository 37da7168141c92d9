"""The output pair of `dedup`: checked before the work, then published both-or-neither.

Order of events (docs/dedup.md explains the guarantees):
1. `OutputPair.open` resolves both targets (through symlinks), refuses a target that is an input,
   the seeds file or the other target (same path, symlink or hard link: compared by device and
   inode), that is a directory or not a regular file, or whose directory is missing; finishes the
   publication of a run killed between its renames (step 3); removes stale temporary files that
   killed runs left beside the targets; and creates both temporary files, so an unwritable target
   fails before any work.
2. `streams` gives binary writers to both temporary files while the work runs, and fsyncs them.
3. `publish` hard-links a backup of each existing target, writes a commit record beside each
   target (both renames, fsynced: the commit point), renames both temporary files into place, and
   removes the records. If the second rename fails, it renames the first target's backup back (or
   removes the new first file if there was none). Ctrl-C and SIGTERM are held until the pair is
   consistent. A run killed (kill -9, power cut) after the commit point is finished by the next
   `open` of either target: `finish_killed_publications` renames the files it left into place.
4. `close` removes whatever temporary or backup file is left, on success and on every failure.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from ..atomic_files import fsync_directory

_TAG = "selfinstruct"
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:32]
_NAME_PART = 100  # bytes of the target's name kept in a temporary name (stays under NAME_MAX)
_OURS = re.compile(rf"^\.(?P<base>.*)\.{_TAG}-(?P<host>[A-Za-z0-9_]*)-(?P<pid>\d+)-[0-9a-f]{{8}}\.(?P<kind>tmp|bak|commit)$")


class OutputError(Exception):
    """An output cannot be written, or writing it failed; nothing was published."""


_WRITE_BUFFER = 1 << 20  # bytes buffered per output before a write system call
# Bytes written between data syncs while the run goes on (in the writer thread), so the fsync
# before publishing, which the run waits for, has only the last of them left to write.
_SYNC_EVERY = 32 << 20
_datasync = getattr(os, "fdatasync", os.fsync)  # (macOS has no fdatasync)


@dataclass(frozen=True)
class Protected:
    """A file that must never be overwritten (an input or the seeds), by its role and identity."""

    role: str
    path: str  # as the user gave it
    real: str | None  # resolved path, None for stdin
    device_inode: tuple[int, int] | None

    @staticmethod
    def of(role: str, path: str, stdin: bool = False) -> "Protected":
        """Identify `path` ("-" or stdin=True: standard input). Raises OSError if it does not exist."""
        status = os.fstat(0) if stdin else os.stat(path)
        real = None if stdin else os.path.realpath(path)
        return Protected(role, path, real, (status.st_dev, status.st_ino))


@dataclass
class _Target:
    role: str
    path: Path  # final path, symlinks resolved
    temporary: Path | None = None
    backup: Path | None = None
    commit: Path | None = None  # this target's copy of the commit record, while publishing
    existed: bool = False
    published: bool = False


def _temporary_name(target: Path, kind: str) -> Path:
    base = target.name.encode("utf-8", "surrogateescape")[:_NAME_PART].decode("utf-8", "ignore")
    return target.with_name(f".{base}.{_TAG}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def stale_files(target: Path, kinds: tuple[str, ...] = ("tmp", "bak", "commit")) -> list[Path]:
    """Temporary, backup and commit files of `target` left by runs of ours on this host that are no longer alive."""
    base = target.name.encode("utf-8", "surrogateescape")[:_NAME_PART].decode("utf-8", "ignore")
    found = []
    try:
        entries = os.listdir(target.parent)
    except OSError:
        return []
    for entry in entries:
        match = _OURS.match(entry)
        if (match and match["base"] == base and match["kind"] in kinds and match["host"] == _HOST
                and not _pid_alive(int(match["pid"]))):
            found.append(target.parent / entry)
    return found


def finish_killed_publications(target: Path, protected: Sequence[Protected]) -> list[Path]:
    """Complete the publication of every run killed between its commit record and its last rename
    whose record lies beside `target`: rename the temporary files it left into place (they were
    complete and fsynced before the record was written). Returns the targets renamed now."""
    finished: list[Path] = []
    for record in stale_files(target, ("commit",)):
        try:
            content = json.loads(record.read_text(encoding="utf-8"))
            renames = [(Path(temporary), Path(final)) for temporary, final in content["renames"]]
            records = [Path(path) for path in content["records"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # cut short by the kill: no rename had started; removed as a stale file
        for _, final in renames:
            for other in protected:
                if str(final) == other.real or _identity(final) == other.device_inode:
                    raise OutputError(
                        f"a run killed while publishing left {record}: finishing it would replace the {other.role} "
                        f"({other.path}); run again with that file as neither input nor seeds, or remove {record}"
                    )
        for temporary, final in renames:
            if temporary.exists():
                os.replace(temporary, final)
                finished.append(final)
        for directory in {final.parent for _, final in renames}:
            _fsync_directory(directory)
        for path in records:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for _, final in renames:  # the killed run's backups beside either target
            for stale in stale_files(final):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
    return finished


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _check_target(role: str, given: str, protected: Sequence[Protected]) -> Path:
    real = Path(os.path.realpath(given))
    if real.is_dir():
        raise OutputError(f"{role} output {given} is a directory")
    if real.exists() and not stat.S_ISREG(real.stat().st_mode):
        raise OutputError(f"{role} output {given} is not a regular file (a device, FIFO or socket): dedup writes files")
    if not real.parent.is_dir():
        raise OutputError(f"{role} output {given}: directory {real.parent} does not exist")
    identity = _identity(real)
    for other in protected:
        if str(real) == other.real or (identity is not None and identity == other.device_inode):
            raise OutputError(f"refusing to write the {role} output {given}: it is the {other.role} ({other.path})")
    return real


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM (main thread only: the only one Python delivers them to) until the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    previous = {number: handler for number, handler in previous.items() if handler is not None}  # None: set outside Python
    for number in previous:
        signal.signal(number, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in caught:
            signal.raise_signal(number)  # delivered now, with the pair consistent


@dataclass
class OutputPair:
    """The kept file and the rejects file of one run. Use as a context manager (see the module docs)."""

    targets: list[_Target]
    removed_stale: list[Path] = field(default_factory=list)
    completed: list[Path] = field(default_factory=list)  # targets of a killed run's publication, finished by `open`

    @classmethod
    def open(cls, kept: str, rejects: str, protected: Sequence[Protected]) -> "OutputPair":
        """Check both targets and create their temporary files (OutputError / OSError if impossible)."""
        kept_path = _check_target("kept", kept, protected)
        rejects_path = _check_target(
            "rejects", rejects, [*protected, Protected("kept output", kept, str(kept_path), _identity(kept_path))]
        )
        pair = cls([_Target("kept", kept_path), _Target("rejects", rejects_path)])
        try:
            for target in pair.targets:
                pair.completed += finish_killed_publications(target.path, protected)
            for target in pair.targets:
                for stale in stale_files(target.path):
                    with contextlib.suppress(FileNotFoundError):
                        stale.unlink()
                        pair.removed_stale.append(stale)
                target.temporary = _create_temporary(target.path)
        except BaseException:
            pair.close()
            raise
        return pair

    def __enter__(self) -> "OutputPair":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def kept(self) -> Path:
        return self.targets[0].path

    @property
    def rejects(self) -> Path:
        return self.targets[1].path

    @contextlib.contextmanager
    def streams(self) -> Iterator[tuple["OutputStream", "OutputStream"]]:
        """Binary writers to the kept and the rejects temporary files, fsynced when the block ends without error."""
        streams: list[OutputStream] = []
        try:
            for target in self.targets:
                assert target.temporary is not None
                streams.append(OutputStream(target, open(target.temporary, "wb", buffering=_WRITE_BUFFER)))
            yield streams[0], streams[1]
            for stream in streams:
                stream.finish()
        finally:
            for stream in streams:
                with contextlib.suppress(OSError):
                    stream.handle.close()

    def publish(self) -> None:
        """Rename both temporary files into place: both targets change, or neither does."""
        with held_signals():
            try:
                for target in self.targets:
                    target.existed = target.path.exists()
                    if target.existed:
                        target.backup = _backup(target.path)
                self._write_commit_records()
                for target in self.targets:
                    assert target.temporary is not None
                    os.replace(target.temporary, target.path)
                    target.temporary = None
                    target.published = True
            except BaseException as error:
                self._roll_back()
                self._remove_commit_records()
                if isinstance(error, OSError):
                    raise OutputError(f"could not publish the outputs ({error}); nothing was changed") from error
                raise
            for directory in self._directories():
                _fsync_directory(directory)
            self._remove_commit_records()
            self.close()  # the backups, before a held signal can end the process

    def _directories(self) -> set[Path]:
        return {target.path.parent for target in self.targets}

    def _write_commit_records(self) -> None:
        """The commit point: one record beside each target, naming both renames, made durable before the first
        rename, so a run killed between the renames is finished by the next run that writes either target."""
        for target in self.targets:
            target.commit = _temporary_name(target.path, "commit")
        content = json.dumps({
            "renames": [[str(target.temporary), str(target.path)] for target in self.targets],
            "records": [str(target.commit) for target in self.targets],
        })
        for target in self.targets:
            assert target.commit is not None
            descriptor = os.open(target.commit, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(descriptor, content.encode("utf-8", "surrogateescape"))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        for directory in self._directories():  # the temporary files' and the records' names
            _fsync_directory(directory)

    def _remove_commit_records(self) -> None:
        for target in self.targets:
            if target.commit is not None:
                with contextlib.suppress(FileNotFoundError):
                    target.commit.unlink()
                target.commit = None

    def _roll_back(self) -> None:
        for target in self.targets:
            if not target.published:
                continue
            if target.backup is not None:
                os.replace(target.backup, target.path)
                target.backup = None
            elif not target.existed:
                target.path.unlink()
            target.published = False

    def close(self) -> None:
        """Remove every temporary and backup file still present."""
        for target in self.targets:
            for leftover in (target.temporary, target.backup):
                if leftover is not None:
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
            target.temporary = target.backup = None


class OutputStream:
    """Appends bytes to one temporary output; a failed write is an OutputError naming the output."""

    def __init__(self, target: _Target, handle: BinaryIO, sync_every: int | None = None) -> None:
        self.target = target
        self.handle = handle
        self.sync_every = _SYNC_EVERY if sync_every is None else sync_every
        self._unsynced = 0

    def write(self, data: bytes) -> None:
        try:
            self.handle.write(data)
            self._unsynced += len(data)
            if self._unsynced >= self.sync_every:
                self.handle.flush()
                _datasync(self.handle.fileno())
                self._unsynced = 0
        except OSError as error:
            raise OutputError(_describe_write_error(self.target, error)) from error

    def finish(self) -> None:
        """Flush and fsync (the data must be on disk before the file is renamed into place)."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        except OSError as error:
            raise OutputError(_describe_write_error(self.target, error)) from error


def _create_temporary(target: Path) -> Path:
    temporary = _temporary_name(target, "tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise OutputError(f"cannot write beside {target}: {error.strerror}") from error
    os.close(descriptor)
    with contextlib.suppress(OSError):
        if target.exists():  # keep the permissions of the file being replaced
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
    return temporary


def _backup(path: Path) -> Path:
    """A hard link to the current file (a copy where links are unsupported), so a failed publication can put it back."""
    backup = _temporary_name(path, "bak")
    try:
        os.link(path, backup)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        shutil.copy2(path, backup)
    return backup


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened and synced
        fsync_directory(directory)


def _describe_write_error(target: _Target, error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        problem = "no space left on the device"
    elif error.errno in (errno.EFBIG, errno.EDQUOT):
        problem = "the file size limit or disk quota was reached"
    else:
        problem = error.strerror or str(error)
    return f"writing the {target.role} output {target.path} failed: {problem}; nothing was published"
