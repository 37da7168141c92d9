"""The journal's background writer: the same bytes as writing in the caller's thread, in commit
order, the logs' appends before the records and the commit line, and a failure raised to the
caller with no commit line after it. (Killed runs: test_pipeline_resume.py.)"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from selfinstruct.pipeline import journal as journal_module
from selfinstruct.pipeline.journal import Journal, read_committed


def open_journal(directory: Path, background: bool) -> Journal:
    return Journal("demo", directory / "data.jsonl", directory / "state" / "demo.jsonl", {"a": 1}, background=background)


def write_some(directory: Path, background: bool) -> dict[str, bytes]:
    directory.mkdir()
    log = directory / "log.jsonl"
    with open_journal(directory, background) as journal:
        journal.recover()
        for number in range(40):
            records = [{"x": number, "y": "é\n"}, '{"x": "line"}\n'][: number % 3]
            journal.commit(records, {"round": number}, [(log, f"{number}\n".encode())] if number % 2 else ())
    return {path.name: path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def test_background_writes_the_same_bytes(tmp_path: Path) -> None:
    assert write_some(tmp_path / "background", True) == write_some(tmp_path / "caller", False)
    assert (tmp_path / "background" / "log.jsonl").read_text() == "".join(f"{n}\n" for n in range(1, 40, 2))


def test_commits_are_written_in_order_by_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    real = journal_module._append

    def watched(path: Path, payload: bytes, torn_point: str | None = None) -> None:
        seen.append((threading.current_thread().name, Path(path).name))
        real(path, payload, torn_point)

    monkeypatch.setattr(journal_module, "_append", watched)
    with open_journal(tmp_path, True) as journal:
        journal.recover()
        seen.clear()  # the state file's header is written by the caller
        for number in range(5):
            journal.commit([{"x": number}], {"round": number}, [(tmp_path / "log.jsonl", b"l\n")])
        journal.wait()
        assert [name for _, name in seen] == ["log.jsonl", "data.jsonl", "demo.jsonl"] * 5
        assert {thread for thread, _ in seen} == {"journal-writer"}
        assert [r["x"] for r in journal.records()] == list(range(5))


def test_a_failed_append_is_raised_and_nothing_is_committed_after_it(tmp_path: Path) -> None:
    blocked = tmp_path / "a-directory"
    blocked.mkdir()
    with pytest.raises(IsADirectoryError):
        with open_journal(tmp_path, True) as journal:
            journal.recover()
            journal.commit([{"x": 1}], {"round": 1})
            journal.commit([{"x": 2}], {"round": 2}, [(blocked, b"no\n")])  # the writer fails here
            for number in range(3, 50):
                journal.commit([{"x": number}], {"round": number})  # raises once the failure is seen
    assert read_committed(tmp_path / "data.jsonl", tmp_path / "state" / "demo.jsonl") == [{"x": 1}]
    with open_journal(tmp_path, True) as journal:
        records, state = journal.recover()
    assert records == [{"x": 1}] and state == {"round": 1}


def test_leaving_on_an_error_still_writes_what_was_committed(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        with open_journal(tmp_path, True) as journal:
            journal.recover()
            for number in range(6):
                journal.commit([{"x": number}], {"round": number})
            raise KeyError("the engine failed")
    with open_journal(tmp_path, False) as journal:
        records, state = journal.recover()
    assert [r["x"] for r in records] == list(range(6)) and state == {"round": 5}
