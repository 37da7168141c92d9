"""Durability: the journal, and kill -9 of the real CLI at many points, then a rerun.

The rerun must resume, lose nothing committed, write nothing twice and, with a deterministic
backend and seed, end with files byte for byte equal to an uninterrupted run's.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfinstruct.pipeline.journal import CRASH_ENV, Journal, read_committed
from selfinstruct.pipeline.seeding import derive_seed, request_rng
from selfinstruct.records import RecordError

TESTS = Path(__file__).parent
FAKES = TESTS / "pipeline_fakes.py"
sys.path.insert(0, str(TESTS))
from pipeline_fakes import write_seed_file  # noqa: E402

ARGS = ["--num-instructions", "45", "--prompts-per-round", "3", "--clf-prompts-per-call", "7",
        "--instance-prompts-per-call", "6", "--no-progress", "--seed", "3"]


STREAMED = ["--window", "8"]  # commits every 2 requests, a progress line every 8


def run_cli(out: Path, seeds: Path, *extra: str, crash: str | None = None, mode: str = "self-instruct",
            delay: float = 0.0, wait: bool = True, stream: bool = False) -> subprocess.Popen:
    """The CLI on the scripted backend; `stream`: its streaming form, completing out of order."""
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    env["SELFINSTRUCT_FAKE_DELAY"] = str(delay)
    env["SELFINSTRUCT_FAKE_STREAM"] = "1" if stream else "0"
    extra = (*extra, *STREAMED) if stream else extra
    command = [sys.executable, str(FAKES), "bootstrap", "-o", str(out), "--seed-tasks", str(seeds),
               "--mode", mode, *ARGS, *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        process.output = process.communicate(timeout=120)  # type: ignore[attr-defined]
    return process


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file's bytes; progress.jsonl without its timings (the fields that are not reproducible)."""
    files = {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    if "progress.jsonl" in files:
        lines = [json.loads(line) for line in files["progress.jsonl"].splitlines()]
        files["progress.jsonl"] = json.dumps([{**line, "seconds": None, "cpu_seconds": None} for line in lines]).encode()
    return files


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed_file(tmp_path_factory.mktemp("seeds") / "seeds.jsonl")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, seeds: Path) -> dict[str, dict[str, bytes]]:
    """Uninterrupted runs, one per mode, and one streamed."""
    out = {}
    for mode in ("self-instruct", "alpaca", "streamed"):
        directory = tmp_path_factory.mktemp(f"reference-{mode}")
        process = run_cli(directory, seeds, mode=mode.replace("streamed", "self-instruct"), stream=mode == "streamed")
        assert process.returncode == 0, process.output
        out[mode] = snapshot(directory)
    return out


def test_reference_run_is_complete(reference: dict[str, dict[str, bytes]]) -> None:
    files = reference["self-instruct"]
    for name in ("machine_generated_instructions.jsonl", "is_clf_or_not.jsonl", "machine_generated_instances.jsonl",
                 "all_generated_instances.jsonl", "finetuning.jsonl", "alpaca.json", "chat.jsonl",
                 "state/instructions.jsonl", "state/classification.jsonl", "state/instances.jsonl"):
        assert files[name], name
    assert files["machine_generated_instructions.jsonl"].count(b"\n") == 45
    assert reference["alpaca"]["machine_generated_tasks.jsonl"].count(b"\n") == 45


CRASH_POINTS = [
    "instructions.before_commit@1", "instructions.before_commit@3", "instructions.after_commit@2",
    "instructions.torn_data@2", "instructions.torn_state@1", "instructions.torn_state@3",
    "classification.before_commit@2", "classification.torn_data@1", "classification.torn_state@2",
    "instances.before_commit@1", "instances.torn_data@3", "instances.after_commit@2", "instances.torn_state@4",
]


@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_kill_and_rerun_equals_uninterrupted(tmp_path: Path, seeds: Path, reference: dict, crash: str) -> None:
    first = run_cli(tmp_path, seeds, crash=crash)
    assert first.returncode == -signal.SIGKILL, "the crash point was not reached"
    second = run_cli(tmp_path, seeds)
    assert second.returncode == 0, second.output
    assert snapshot(tmp_path) == reference["self-instruct"]


@pytest.mark.parametrize("crash", ["alpaca.before_commit@2", "alpaca.torn_data@3", "alpaca.torn_state@2"])
def test_kill_and_rerun_alpaca_mode(tmp_path: Path, seeds: Path, reference: dict, crash: str) -> None:
    assert run_cli(tmp_path, seeds, crash=crash, mode="alpaca").returncode == -signal.SIGKILL
    assert run_cli(tmp_path, seeds, mode="alpaca").returncode == 0
    assert snapshot(tmp_path) == reference["alpaca"]


STREAMED_CRASH_POINTS = [
    "instructions.before_commit@2", "instructions.torn_data@3", "instructions.torn_state@4",
    "classification.torn_data@3", "instances.before_commit@9",
]


@pytest.mark.parametrize("crash", STREAMED_CRASH_POINTS)
def test_kill_and_rerun_streamed(tmp_path: Path, seeds: Path, reference: dict, crash: str) -> None:
    """Streamed generation (requests finish out of order, in a different order in every process)."""
    assert run_cli(tmp_path, seeds, crash=crash, stream=True).returncode == -signal.SIGKILL, crash
    second = run_cli(tmp_path, seeds, stream=True)
    assert second.returncode == 0, second.output
    assert snapshot(tmp_path) == reference["streamed"]


def test_kill_streamed_at_random_moments(tmp_path: Path, seeds: Path, reference: dict) -> None:
    kills = 0
    for delay in (0.45, 0.6, 0.8):
        process = run_cli(tmp_path, seeds, delay=0.004, wait=False, stream=True)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=120)
    assert run_cli(tmp_path, seeds, stream=True).returncode == 0
    assert kills >= 1
    assert snapshot(tmp_path) == reference["streamed"]


def test_repeated_kills_in_every_step(tmp_path: Path, seeds: Path, reference: dict) -> None:
    for crash in ("instructions.torn_data@2", "instructions.before_commit@1", "classification.torn_state@1",
                  "instances.before_commit@2", "instances.torn_data@1"):
        assert run_cli(tmp_path, seeds, crash=crash).returncode == -signal.SIGKILL, crash
    assert run_cli(tmp_path, seeds).returncode == 0
    assert snapshot(tmp_path) == reference["self-instruct"]


def test_kill_at_random_moments(tmp_path: Path, seeds: Path, reference: dict) -> None:
    """SIGKILL from outside at arbitrary times (the backend sleeps 20 ms per call), then rerun."""
    kills = 0
    for delay in (0.35, 0.5, 0.6, 0.45, 0.7, 0.55):
        process = run_cli(tmp_path, seeds, delay=0.02, wait=False)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=120)
    final = run_cli(tmp_path, seeds, delay=0.0)
    assert final.returncode == 0
    assert kills >= 1
    assert snapshot(tmp_path) == reference["self-instruct"]


def test_rerun_of_a_finished_run_changes_nothing(tmp_path: Path, seeds: Path, reference: dict) -> None:
    assert run_cli(tmp_path, seeds).returncode == 0
    assert run_cli(tmp_path, seeds).returncode == 0
    assert snapshot(tmp_path) == reference["self-instruct"]


def test_growing_the_target_extends_the_run(tmp_path: Path, seeds: Path) -> None:
    assert run_cli(tmp_path, seeds).returncode == 0
    assert run_cli(tmp_path, seeds, "--num-instructions", "60").returncode == 0
    lines = (tmp_path / "machine_generated_instructions.jsonl").read_text().splitlines()
    instructions = [json.loads(line)["instruction"] for line in lines]
    assert len(instructions) == 60 == len(set(instructions))
    clf = [json.loads(line)["instruction"] for line in (tmp_path / "is_clf_or_not.jsonl").read_text().splitlines()]
    assert clf == instructions


# -- the journal itself -----------------------------------------------------------------------------

def journal(tmp_path: Path, settings: dict | None = None) -> Journal:
    return Journal("demo", tmp_path / "data.jsonl", tmp_path / "state" / "demo.jsonl", settings or {"a": 1})


def test_journal_fresh_commit_and_recover(tmp_path: Path) -> None:
    with journal(tmp_path) as j:
        assert j.recover() == ([], None)
        j.commit([{"x": 1}, {"x": 2}], {"round": 1})
        j.commit([], {"round": 2})
        j.commit([{"x": 3}], {"round": 3})
    with journal(tmp_path) as j:
        records, state = j.recover()
    assert records == [{"x": 1}, {"x": 2}, {"x": 3}] and state == {"round": 3}


def test_journal_drops_uncommitted_and_torn_tails(tmp_path: Path) -> None:
    with journal(tmp_path) as j:
        j.recover()
        j.commit([{"x": 1}], {"round": 1})
    with open(tmp_path / "data.jsonl", "a") as handle:
        handle.write('{"x": 2}\n{"x": 3')  # an uncommitted record and a torn one
    with open(tmp_path / "state" / "demo.jsonl", "a") as handle:
        handle.write('{"commit": 2, "data_by')  # a torn commit line
    with journal(tmp_path) as j:
        records, state = j.recover()
        assert records == [{"x": 1}] and state == {"round": 1}
        j.commit([{"x": 9}], {"round": 2})
    assert (tmp_path / "data.jsonl").read_text() == '{"x": 1}\n{"x": 9}\n'
    assert read_committed(tmp_path / "data.jsonl", tmp_path / "state" / "demo.jsonl") == [{"x": 1}, {"x": 9}]


def test_read_committed_ignores_an_uncommitted_tail(tmp_path: Path) -> None:
    with journal(tmp_path) as j:
        j.recover()
        j.commit([{"x": 1}], {})
    with open(tmp_path / "data.jsonl", "a") as handle:
        handle.write('{"x": 2}\n{"x"')
    assert read_committed(tmp_path / "data.jsonl", tmp_path / "state" / "demo.jsonl") == [{"x": 1}]


def test_journal_refuses_a_shortened_data_file(tmp_path: Path) -> None:
    with journal(tmp_path) as j:
        j.recover()
        j.commit([{"x": 1}, {"x": 2}], {})
    (tmp_path / "data.jsonl").write_text('{"x": 1}\n')
    with journal(tmp_path) as j, pytest.raises(RuntimeError, match="edited or removed"):
        j.recover()


def test_journal_rejects_a_malformed_state_line(tmp_path: Path) -> None:
    with journal(tmp_path) as j:
        j.recover()
        j.commit([{"x": 1}], {})
    path = tmp_path / "state" / "demo.jsonl"
    path.write_text(path.read_text() + "not json\n")
    with journal(tmp_path) as j, pytest.raises(RecordError, match="demo.jsonl:3"):
        j.recover()


def test_journal_adopts_a_reference_file(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"instruction": "a", "request_idx": 4}\n{"instruction": "b", "request_idx": 6}\n')
    with journal(tmp_path) as j:
        records, state = j.recover(adopt=lambda rs: {"next": len(rs)})
    assert [r["instruction"] for r in records] == ["a", "b"] and state == {"next": 2}
    with journal(tmp_path) as j:
        assert j.recover()[1] == {"next": 2}


def test_journal_is_exclusive(tmp_path: Path) -> None:
    with journal(tmp_path):
        with pytest.raises(RuntimeError, match="another run"):
            with journal(tmp_path):
                pass


def test_journal_warns_on_changed_settings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with journal(tmp_path, {"a": 1}) as j:
        j.recover()
    with journal(tmp_path, {"a": 2}) as j:
        j.recover()
    assert "changed settings (a)" in caplog.text


def test_request_randomness_depends_only_on_seed_and_request() -> None:
    assert request_rng(1, "x", 5).random() == request_rng(1, "x", 5).random()
    assert request_rng(1, "x", 5).random() != request_rng(1, "x", 6).random()
    assert derive_seed(0, "a", 1) != derive_seed(1, "a", 1)
    assert 0 <= derive_seed(7, "anything") < 2**63
