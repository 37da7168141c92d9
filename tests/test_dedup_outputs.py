"""`dedup` outputs: refusal rules, checks before the work, both-or-neither publication, temporary files."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import selfinstruct.dedup.outputs as outputs_module
from selfinstruct.dedup import OutputError, dedup_file
from selfinstruct.dedup.outputs import stale_files
from selfinstruct.pool import Pool

ROWS = ["Write a poem about the sea", "write a poem about the sea!", "Tell me a joke", "Summarize this article"]


def write_jsonl(path: Path, rows=ROWS) -> Path:
    path.write_text("".join(json.dumps({"instruction": row}) + "\n" for row in rows), encoding="utf-8")
    return path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl")


# ---------------------------------------------------------------- refusals


def test_refuses_to_overwrite_the_input(tmp_path, source):
    before = source.read_bytes()
    with pytest.raises(OutputError, match=r"refusing to write the kept output .*in\.jsonl: it is the input"):
        dedup_file(source, source, progress=False)
    link = tmp_path / "link.jsonl"
    link.symlink_to(source)
    with pytest.raises(OutputError, match="it is the input"):
        dedup_file(source, link, progress=False)
    hard = tmp_path / "hard.jsonl"
    os.link(source, hard)
    with pytest.raises(OutputError, match="it is the input"):
        dedup_file(source, hard, progress=False)
    with pytest.raises(OutputError, match="it is the input"):  # through a symlinked directory
        (tmp_path / "dir").symlink_to(tmp_path)
        dedup_file(source, tmp_path / "dir" / "in.jsonl", progress=False)
    with pytest.raises(OutputError, match=r"refusing to write the rejects output .*: it is the input"):
        dedup_file(source, tmp_path / "out.jsonl", rejects_path=source, progress=False)
    rejects_as_input = write_jsonl(tmp_path / "out.rejects.jsonl")  # the default rejects name of out.jsonl
    with pytest.raises(OutputError, match=r"rejects output .*out\.rejects\.jsonl: it is the input"):
        dedup_file(rejects_as_input, tmp_path / "out.jsonl", progress=False)
    assert source.read_bytes() == before == rejects_as_input.read_bytes()
    assert listing(tmp_path) == ["dir", "hard.jsonl", "in.jsonl", "link.jsonl", "out.rejects.jsonl"]


def test_refuses_the_seeds_file_and_a_shared_pair(tmp_path, source):
    seeds = write_jsonl(tmp_path / "seeds.jsonl", ["Tell me a joke please"])
    with pytest.raises(OutputError, match="it is the seeds file"):
        dedup_file(source, seeds, seeds_path=seeds, progress=False)
    with pytest.raises(OutputError, match="it is the seeds file"):
        dedup_file(source, tmp_path / "out.jsonl", rejects_path=seeds, seeds_path=seeds, progress=False)
    with pytest.raises(OutputError, match="rejects output .*: it is the kept output"):
        dedup_file(source, tmp_path / "out.jsonl", rejects_path=tmp_path / "out.jsonl", progress=False)
    (tmp_path / "alias.jsonl").symlink_to(tmp_path / "out.jsonl")  # dangling until written
    with pytest.raises(OutputError, match="it is the kept output"):
        dedup_file(source, tmp_path / "out.jsonl", rejects_path=tmp_path / "alias.jsonl", progress=False)
    assert listing(tmp_path) == ["alias.jsonl", "in.jsonl", "seeds.jsonl"]


def test_refuses_stdin_redirected_from_the_output(tmp_path, source):
    with open(source, "rb") as handle:
        result = subprocess.run(
            [sys.executable, "-m", "selfinstruct", "dedup", "-", "-o", str(source), "--no-progress"],
            stdin=handle, capture_output=True, text=True,
        )
    assert result.returncode == 2 and "it is the input (-)" in result.stderr, result.stderr
    assert source.read_text().count("\n") == 4


# ---------------------------------------------------------------- checked before the work


def test_outputs_are_checked_before_reading_the_input(tmp_path, source, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the input was read although an output is unusable")

    monkeypatch.setattr("selfinstruct.dedup.run.open_input", no_work)
    with pytest.raises(OutputError, match="directory .*missing.* does not exist"):
        dedup_file(source, tmp_path / "missing" / "out.jsonl", progress=False)
    (tmp_path / "out.rejects.jsonl").mkdir()
    with pytest.raises(OutputError, match=r"rejects output .*out\.rejects\.jsonl is a directory"):
        dedup_file(source, tmp_path / "out.jsonl", progress=False)
    with pytest.raises(OutputError, match="not a regular file"):
        dedup_file(source, "/dev/null", progress=False)
    with pytest.raises(OutputError, match="cannot write beside /proc/selfinstruct-test.jsonl"):  # even as root
        dedup_file(source, "/proc/selfinstruct-test.jsonl", rejects_path=tmp_path / "r.jsonl", progress=False)
    assert listing(tmp_path) == ["in.jsonl", "out.rejects.jsonl"]


# ---------------------------------------------------------------- both or neither


def test_second_rename_failing_restores_the_first(tmp_path, source, monkeypatch):
    kept, rejects = tmp_path / "out.jsonl", tmp_path / "out.rejects.jsonl"
    kept.write_text("old kept\n")
    rejects.write_text("old rejects\n")
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == rejects:
            raise OSError(errno.EIO, "simulated I/O error")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs_module.os, "replace", failing_replace)
    with pytest.raises(OutputError, match="could not publish the outputs .*nothing was changed"):
        dedup_file(source, kept, progress=False)
    assert (kept.read_text(), rejects.read_text()) == ("old kept\n", "old rejects\n")
    assert listing(tmp_path) == ["in.jsonl", "out.jsonl", "out.rejects.jsonl"]
    kept.unlink()
    rejects.unlink()
    with pytest.raises(OutputError):  # no previous files: the new kept file is removed again
        dedup_file(source, kept, progress=False)
    assert listing(tmp_path) == ["in.jsonl"]


def test_disk_full_publishes_nothing(tmp_path, source, monkeypatch):
    kept = tmp_path / "out.jsonl"
    kept.write_text("old\n")
    real_fsync = os.fsync

    def full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs_module.os, "fsync", full)
    with pytest.raises(OutputError, match=r"writing the kept output .* failed: no space left on the device; nothing was published"):
        dedup_file(source, kept, progress=False)
    monkeypatch.setattr(outputs_module.os, "fsync", real_fsync)
    assert kept.read_text() == "old\n" and listing(tmp_path) == ["in.jsonl", "out.jsonl"]


def test_file_size_limit_is_a_clear_error(tmp_path):
    """A real write failure (RLIMIT_FSIZE in a child process): one error line, nothing published."""
    source = write_jsonl(tmp_path / "big.jsonl", [f"Item {i} alpha{i} beta{i} gamma{i}" for i in range(4000)])
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000));"
        "from selfinstruct.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run([sys.executable, "-c", code, "dedup", str(source), "-o", str(tmp_path / "out.jsonl"), "--no-progress"],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "file size limit" in result.stderr and "nothing was published" in result.stderr and "Traceback" not in result.stderr
    assert listing(tmp_path) == ["big.jsonl"]


def test_interrupt_during_admission_leaves_nothing(tmp_path, source, monkeypatch):
    def interrupted(self, candidates):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pool, "admit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dedup_file(source, tmp_path / "out.jsonl", progress=False)
    assert listing(tmp_path) == ["in.jsonl"]


def test_publication_replaces_through_a_symlink_and_keeps_the_mode(tmp_path, source):
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    (tmp_path / "link.jsonl").symlink_to(target)
    summary = dedup_file(source, tmp_path / "link.jsonl", progress=False)
    assert summary.output == target and (tmp_path / "link.jsonl").is_symlink()
    assert target.read_text().count("\n") == 3 and (target.stat().st_mode & 0o777) == 0o640


# ---------------------------------------------------------------- signals and kill -9


def _start_waiting_on_stdin(tmp_path: Path) -> subprocess.Popen:
    """A dedup run that has created its temporary files and waits for its input on a pipe."""
    process = subprocess.Popen(
        [sys.executable, "-m", "selfinstruct", "dedup", "-", "-o", str(tmp_path / "out.jsonl"), "--no-progress"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # A shell's background jobs inherit SIGINT ignored; the child must see Ctrl-C as a user would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) < 2:
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read() if process.poll() is not None else ""
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_ctrl_c_and_sigterm_remove_temporary_files(tmp_path, number, status):
    process = _start_waiting_on_stdin(tmp_path)
    process.send_signal(number)
    process.wait(timeout=60)  # stdin stays open: the run ends by the signal, not by end of input
    process.communicate()
    assert process.returncode == status
    assert listing(tmp_path) == []


def test_stale_temporary_files_of_a_killed_run_are_cleaned_by_the_next_run(tmp_path, source):
    process = _start_waiting_on_stdin(tmp_path)
    process.kill()
    process.communicate(timeout=60)
    stale = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert len(stale) == 2 and all(f"-{process.pid}-" in name and ".selfinstruct-" in name for name in stale)
    # Not ours (other name) or still running (our own pid): left alone.
    foreign = tmp_path / ".out.jsonl.tmp"
    foreign.write_text("someone else's")
    alive = tmp_path / stale[0].replace(f"-{process.pid}-", f"-{os.getpid()}-")
    alive.write_text("a live run's")
    assert sorted(p.name for p in stale_files(tmp_path / "out.jsonl")) == [stale[0]]
    summary = dedup_file(source, tmp_path / "out.jsonl", progress=False)
    assert summary.removed_stale == 2 and "removed 2 temporary file(s)" in summary.describe()
    assert listing(tmp_path) == sorted([alive.name, foreign.name, "in.jsonl", "out.jsonl", "out.rejects.jsonl"])


def test_write_atomic_uses_a_private_temporary_and_cleans_up(tmp_path, monkeypatch):
    from selfinstruct import records

    target = tmp_path / "report.json"
    records.write_atomic(target, "one\n")
    records.write_atomic(target, "two\n")
    assert target.read_text() == "two\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]

    def full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(records.os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        records.write_atomic(target, "three\n")
    assert target.read_text() == "two\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_ctrl_c_during_publication_is_acted_on_after_both_renames(tmp_path, source, monkeypatch):
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(Path(dst).name)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C between the two renames
        return real_replace(src, dst)

    monkeypatch.setattr(outputs_module.os, "replace", replace_then_interrupt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the runner ignores SIGINT
    try:
        with pytest.raises(KeyboardInterrupt):
            dedup_file(source, tmp_path / "out.jsonl", progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == ["out.jsonl", "out.rejects.jsonl"]
    assert listing(tmp_path) == ["in.jsonl", "out.jsonl", "out.rejects.jsonl"]  # the new pair, complete
    assert (tmp_path / "out.rejects.jsonl").read_text().count("\n") == 1


def test_outputs_are_synced_while_written(tmp_path, source, monkeypatch):
    """Every `sync_every` bytes the writer syncs the data (so the fsync before publishing has
    little left); the outputs are the same."""
    plain = dedup_file(source, tmp_path / "plain.jsonl", progress=False)
    synced: list[int] = []
    real = outputs_module._datasync
    monkeypatch.setattr(outputs_module, "_SYNC_EVERY", 64)
    monkeypatch.setattr(outputs_module, "_datasync", lambda descriptor: (synced.append(descriptor), real(descriptor)))
    often = dedup_file(source, tmp_path / "often.jsonl", progress=False, batch_size=3)
    assert len(synced) >= 2 and (often.kept, often.rejected) == (plain.kept, plain.rejected)
    for suffix in (".jsonl", ".rejects.jsonl"):
        assert (tmp_path / f"often{suffix}").read_bytes() == (tmp_path / f"plain{suffix}").read_bytes()


def test_a_failed_sync_while_writing_publishes_nothing(tmp_path, source, monkeypatch):
    kept = tmp_path / "out.jsonl"
    kept.write_text("old\n")

    def full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs_module, "_SYNC_EVERY", 1)
    monkeypatch.setattr(outputs_module, "_datasync", full)
    with pytest.raises(OutputError, match=r"writing the (kept|rejects) output .* failed: no space left on the device; nothing was published"):
        dedup_file(source, kept, progress=False)
    assert kept.read_text() == "old\n" and listing(tmp_path) == ["in.jsonl", "out.jsonl"]
