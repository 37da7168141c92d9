"""Publishing whole files atomically and durably: a reader sees the old file or the new one, never
a part, and once a call returns the new file survives a crash.

A file is written to a temporary file beside its target (same directory, so the rename stays on one
filesystem) under a unique name, `.<name>.<random>.tmp`, so concurrent writers never share one; it
is fsynced, renamed over the target, and the directory is fsynced so the rename is durable too. A
failure (a full disk, an exception, Ctrl-C) removes the temporary files it made. Only a process
killed mid-write leaves one behind: `remove_stale_temporaries` clears them.
"""
from __future__ import annotations

import contextlib
import glob
import os
import secrets
from pathlib import Path
from typing import Iterable, Sequence, Union

TMP_SUFFIX = ".tmp"

Chunk = Union[str, bytes]  # str is written as UTF-8


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in the directory `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_temporary(path: str | os.PathLike[str], chunks: Iterable[Chunk]) -> Path:
    """Write `chunks` to a new temporary file beside `path` and fsync it; returns the temporary's name.

    On any failure the temporary file is removed and the error propagates; `path` is not touched.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb", buffering=1 << 20) as handle:
            for chunk in chunks:
                handle.write(chunk.encode() if isinstance(chunk, str) else chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        discard([temporary])
        raise
    return temporary


def discard(temporaries: Iterable[Path]) -> None:
    """Remove temporary files (one already gone is fine)."""
    for temporary in temporaries:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def rename_into_place(written: Sequence[tuple[Path, Path]]) -> None:
    """Rename each (temporary, target) pair into place, then fsync the targets' directories.

    If a rename fails, the temporaries not yet renamed are removed before the error propagates.
    """
    done = 0
    try:
        for temporary, target in written:
            os.replace(temporary, target)
            done += 1
    except BaseException:
        discard(temporary for temporary, _ in written[done:])
        raise
    for directory in {Path(target).parent for _, target in written}:
        fsync_directory(directory)


def write_atomic(path: str | os.PathLike[str], data: Chunk) -> None:
    """Replace the file `path` with `data` atomically and durably (see the module docs)."""
    path = Path(path)
    rename_into_place([(write_temporary(path, [data]), path)])


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Remove the temporary files of `path` that killed writers left behind. Call it only where no
    other writer of `path` can be running (under the writers' lock): a live writer's file matches too."""
    path = Path(path)
    discard(path.parent.glob(f".{glob.escape(path.name)}.*{TMP_SUFFIX}"))
