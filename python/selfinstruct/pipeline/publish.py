"""Publishing a step's output files: all of them or none, each atomically (see `atomic_files`).

Concurrent writers never share a temporary name, a failure (a full disk, an exception, Ctrl-C)
removes every temporary file, and a reader sees the old files or the new ones, never a part. Files
left by a killed process (`.<name>.<random>.tmp`) are removed by `clean_stale` under the step's lock.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from ..atomic_files import TMP_SUFFIX, Chunk, discard, rename_into_place, write_temporary
from ..atomic_files import fsync_directory as fsync_dir
from ..atomic_files import remove_stale_temporaries as clean_stale

__all__ = ["TMP_SUFFIX", "clean_stale", "fsync_dir", "publish_all", "publish_lines", "write_temporary"]


def publish_all(targets: Sequence[tuple[Path, Iterable[Chunk]]]) -> None:
    """Write every file to a temporary first, then rename them all: on a failure while writing,
    no target changes and no temporary file stays behind."""
    written: list[tuple[Path, Path]] = []
    try:
        for path, chunks in targets:
            written.append((write_temporary(path, chunks), Path(path)))
    except BaseException:
        discard(temporary for temporary, _ in written)
        raise
    rename_into_place(written)


def publish_lines(path: Path, chunks: Iterable[Chunk]) -> None:
    """Replace one file atomically with the concatenated `chunks`."""
    publish_all([(Path(path), chunks)])
