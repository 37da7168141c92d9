"""`dedup` killed with SIGKILL while publishing its two outputs: the next run that writes either
output finishes the publication first (commit record), so the pair is never left mixed."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from selfinstruct.cli import main
from selfinstruct.dedup import OutputError, dedup_file

ROWS = ["Write a poem about the sea", "write a poem about the sea!", "Tell me a joke", "Summarize this article"]

# Runs `selfinstruct dedup ARGS` and kills itself with SIGKILL right after rename number KILL_AFTER
# of the publication (0: after the commit records, before any rename).
KILLED_CHILD = """
import os, signal, sys
import selfinstruct.dedup.outputs as outputs
kill_after = int(sys.argv[1])
real_replace, real_commit = os.replace, outputs.OutputPair._write_commit_records
renames = []

def replace(source, target):
    real_replace(source, target)
    renames.append(target)
    if len(renames) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

def commit(self):
    real_commit(self)
    if kill_after == 0:
        os.kill(os.getpid(), signal.SIGKILL)

outputs.os.replace = replace
outputs.OutputPair._write_commit_records = commit
from selfinstruct.cli import main
main(sys.argv[2:])
"""


def write_jsonl(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(json.dumps({"instruction": row}) + "\n" for row in rows), encoding="utf-8")
    return path


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def killed_run(tmp_path: Path, kill_after: int) -> tuple[Path, Path, bytes, bytes]:
    """Old outputs in place, then a run killed while publishing; returns (kept, rejects, its kept, its rejects)."""
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    kept, rejects = tmp_path / "out.jsonl", tmp_path / "out.rejects.jsonl"
    expected = dedup_file(source, tmp_path / "expected.jsonl", progress=False)  # what the killed run publishes
    kept.write_text("old kept\n")
    rejects.write_text("old rejects\n")
    result = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(kill_after), "dedup", str(source), "-o", str(kept),
                             "--no-progress", "--threads", "1"], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    return kept, rejects, expected.output.read_bytes(), expected.rejects.read_bytes()


def test_kill_between_the_renames_is_finished_by_the_next_run_even_if_it_fails(tmp_path, capsys):
    kept, rejects, new_kept, new_rejects = killed_run(tmp_path, kill_after=1)
    # The window: the new kept file beside the old rejects file, and the commit records saying so.
    assert kept.read_bytes() == new_kept and rejects.read_text() == "old rejects\n"
    assert sorted(name.rsplit(".", 1)[1] for name in hidden(tmp_path)) == ["bak", "bak", "commit", "commit", "tmp"]
    # The next run writing these outputs finishes that publication before anything else, so even
    # though this run then fails on its input, the pair on disk is the killed run's, complete.
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": oops}\n')
    assert main(["dedup", str(bad), "-o", str(kept), "--no-progress"]) == 2
    assert "bad.jsonl:1: malformed JSON" in capsys.readouterr().err
    assert (kept.read_bytes(), rejects.read_bytes()) == (new_kept, new_rejects)
    assert hidden(tmp_path) == []


def test_the_next_run_says_what_it_finished(tmp_path):
    kept, rejects, _, _ = killed_run(tmp_path, kill_after=1)
    other = write_jsonl(tmp_path / "other.jsonl", ["Name three colors", "name three colors!"])
    summary = dedup_file(other, kept, progress=False)
    assert summary.completed == (rejects,)
    assert "finished publishing the outputs of an earlier run" in summary.describe()
    assert (summary.kept, summary.rejected) == (1, 1) and kept.read_text().count("\n") == 1
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("kill_after", [0, 2])
def test_kill_before_the_first_or_after_the_last_rename(tmp_path, kill_after):
    kept, rejects, new_kept, new_rejects = killed_run(tmp_path, kill_after)
    if kill_after == 0:  # committed, nothing renamed yet: the old pair is still consistent
        assert (kept.read_text(), rejects.read_text()) == ("old kept\n", "old rejects\n")
    else:
        assert (kept.read_bytes(), rejects.read_bytes()) == (new_kept, new_rejects)
    # A run writing only the rejects file (as its kept output) also finds the record and finishes it.
    dedup_file(write_jsonl(tmp_path / "x.jsonl", ["Name a color"]), tmp_path / "x.out.jsonl", rejects_path=rejects, progress=False)
    assert kept.read_bytes() == new_kept and rejects.read_text() == ""  # then replaced by this run's (empty) rejects
    assert hidden(tmp_path) == []


def test_a_record_that_would_replace_an_input_is_refused(tmp_path):
    kept, rejects, _, _ = killed_run(tmp_path, kill_after=1)
    with pytest.raises(OutputError, match="finishing it would replace the input"):
        dedup_file(rejects, kept, rejects_path=tmp_path / "r.jsonl", input_format="text", progress=False)
    assert rejects.read_text() == "old rejects\n"
