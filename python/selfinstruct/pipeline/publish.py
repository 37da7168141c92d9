"""Publishing whole files atomically: a uniquely named temporary file, fsync, rename.

Concurrent writers never share a temporary name, a failure (a full disk, an exception, Ctrl-C)
removes its temporary file, and a reader sees the old file or the new one, never a part. Files
left by a killed process (`.<name>.<random>.tmp`) are removed by `clean_stale` under the step's lock.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

TMP_SUFFIX = ".tmp"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temporary(path: Path) -> Iterator[tuple[int, Path]]:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        yield fd, Path(name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def write_temporary(path: Path, chunks: Iterable[str]) -> Path:
    """Write `chunks` to a fresh temporary file beside `path` (fsynced); returns its name."""
    path = Path(path)
    with _temporary(path) as (fd, name):
        with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
            for chunk in chunks:
                handle.write(chunk.encode())
            handle.flush()
            os.fsync(handle.fileno())
        return name


def publish_all(targets: Sequence[tuple[Path, Iterable[str]]]) -> None:
    """Write every file to a temporary first, then rename them all: on a failure while writing,
    no target changes and no temporary file stays behind."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, chunks in targets:
            written.append((write_temporary(path, chunks), Path(path)))
    except BaseException:
        for name, _ in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        raise
    for name, path in written:
        os.replace(name, path)
    for directory in {path.parent for _, path in written}:
        fsync_dir(directory)


def publish_lines(path: Path, chunks: Iterable[str]) -> None:
    """Replace one file atomically with the concatenated `chunks`."""
    publish_all([(Path(path), chunks)])


def clean_stale(path: Path) -> None:
    """Remove temporary files of `path` left by a killed writer (call under the writer's lock)."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*{TMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
