"""atomic_files: whole-file publication that leaves the old file or the new one, and no temporary file."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from selfinstruct import atomic_files
from selfinstruct.atomic_files import remove_stale_temporaries, rename_into_place, write_atomic, write_temporary


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_text_and_bytes_replace_the_file_with_the_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_atomic(target, "café\n")
    write_atomic(target, b"\x00binary")
    assert target.read_bytes() == b"\x00binary" and listing(tmp_path) == ["out.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_rename_removes_the_temporaries_not_yet_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    written = [(write_temporary(first, ["one\n"]), first), (write_temporary(second, ["two\n"]), second)]
    real_replace = os.replace

    def fail_second(source: str, target: str) -> None:
        if Path(target) == second:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(atomic_files.os, "replace", fail_second)
    with pytest.raises(OSError, match="No space"):
        rename_into_place(written)
    assert listing(tmp_path) == ["a.jsonl"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomic(target, "old\n")

    def chunks():
        yield "new, partly"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_temporary(target, chunks())
    assert target.read_text() == "old\n" and listing(tmp_path) == ["out.txt"]


def test_stale_temporaries_are_matched_by_the_exact_name(tmp_path: Path) -> None:
    target = tmp_path / "a[1].jsonl"
    stale = tmp_path / ".a[1].jsonl.0123456789ab.tmp"
    other = tmp_path / ".a1.jsonl.0123456789ab.tmp"  # another file's: a glob pattern [1] would match it
    stale.write_text("left by a killed writer")
    other.write_text("not ours")
    remove_stale_temporaries(target)
    assert listing(tmp_path) == [other.name]
