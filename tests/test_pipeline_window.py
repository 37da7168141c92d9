"""The streamed driver: a bounded window, results taken in submission order whatever the order in
which the engine finishes them, and whole steps whose output does not depend on that order."""
from __future__ import annotations

import dataclasses
import json
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfinstruct.backends.base import Completion, SamplingParams
from selfinstruct.pipeline import bootstrap, generate_instructions
from selfinstruct.pipeline.config import PipelineConfig
from selfinstruct.pipeline.driver import Request, Window

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_fakes import StreamingFakeBackend, small_config  # noqa: E402

PARAMS = SamplingParams(max_tokens=4)


class EchoStream:
    """A stream test double: each request's completion is its prompt; requests finish in the order
    `rng` picks among those pending, and a poll (timeout=0) may find nothing finished."""

    def __init__(self, rng: random.Random, fail: str = "") -> None:
        self.rng = rng
        self.fail = fail
        self.queue: list[tuple[int, str]] = []
        self.most_in_flight = 0
        self.closed = False

    def submit(self, key: int, prompt: str, params: SamplingParams) -> None:
        self.queue.append((key, prompt))
        self.most_in_flight = max(self.most_in_flight, len(self.queue))

    def next_finished(self, timeout: float | None = None) -> tuple[int, list[Completion]]:
        if timeout is not None and self.rng.random() < 0.5:
            raise TimeoutError
        key, prompt = self.queue.pop(self.rng.randrange(len(self.queue)))
        if self.fail == "unknown":
            key += 1000
        count = 2 if self.fail == "count" else 1
        return key, [Completion(prompt, "stop")] * count

    def pending(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        self.closed = True
        self.queue.clear()


def drive(order_seed: int, window: int, total: int = 40, idle: bool = False, lag: int = 0) -> tuple[list[str], EchoStream]:
    """A step in miniature: request i's prompt says how many results were taken when it was built."""
    taken: list[str] = []
    idle_calls: list[int] = []
    stream = EchoStream(random.Random(order_seed))

    def build(index: int) -> Request | None:
        return Request(index, f"{index}:{len(taken)}", PARAMS) if index < total else None

    def work() -> bool:
        idle_calls.append(1)
        return len(idle_calls) % 3 != 0

    for request, completions in Window(stream, window, build, work if idle else None, lag).results(0):
        assert completions[0].text == request.prompt
        taken.append(completions[0].text)
    return taken, stream


@settings(max_examples=60, deadline=None)
@given(order=st.integers(0, 2**32), window=st.integers(1, 12), idle=st.booleans())
def test_results_in_submission_order_for_any_completion_order(order: int, window: int, idle: bool) -> None:
    taken, stream = drive(order, window, idle=idle)
    assert taken == [f"{i}:{max(0, i - window + 1)}" for i in range(40)]  # prompt i+W built after taking i
    assert stream.most_in_flight <= window and stream.closed


@settings(max_examples=40, deadline=None)
@given(order=st.integers(0, 2**32), window=st.integers(2, 12), idle=st.booleans())
def test_a_lagging_window_builds_request_i_plus_w_after_taking_result_i_plus_1(order: int, window: int,
                                                                                idle: bool) -> None:
    taken, stream = drive(order, window, idle=idle, lag=1)
    assert taken == [f"{i}:{0 if i < window else i - window + 2}" for i in range(40)]
    assert stream.most_in_flight <= window and stream.closed
    with pytest.raises(ValueError, match="lag"):
        Window(stream, 1, lambda i: None, lag=1)


def test_stopping_early_cancels_what_is_in_flight() -> None:
    stream = EchoStream(random.Random(1))
    results = Window(stream, 5, lambda i: Request(i, str(i), PARAMS)).results(0)
    assert [next(results)[0].index for _ in range(3)] == [0, 1, 2]
    results.close()
    assert stream.closed and not stream.queue


@pytest.mark.parametrize(("fail", "message"), [("unknown", "unknown or repeated"), ("count", "2 completions")])
def test_a_misbehaving_stream_is_an_error(fail: str, message: str) -> None:
    stream = EchoStream(random.Random(0), fail)
    with pytest.raises(RuntimeError, match=message):
        list(Window(stream, 3, lambda i: Request(i, str(i), PARAMS) if i < 5 else None).results(0))
    with pytest.raises(ValueError, match="window"):
        Window(stream, 0, lambda i: None)


@pytest.fixture()
def config(tmp_path: Path) -> PipelineConfig:
    return small_config(tmp_path, window=6)


def files(directory: Path) -> dict[str, bytes]:
    out = {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    progress = [json.loads(line) for line in out.pop("progress.jsonl").splitlines()]
    out["progress"] = json.dumps([{**line, "seconds": None, "cpu_seconds": None} for line in progress]).encode()
    return out


def test_a_streamed_bootstrap_does_not_depend_on_completion_order(config: PipelineConfig) -> None:
    runs = []
    for order in (1, 2, 3):
        run = dataclasses.replace(config, output_dir=config.output_dir / str(order))
        backend = StreamingFakeBackend(order_seed=order)
        bootstrap(run, backend=backend)
        assert backend.windows == [6, 6, 6]
        runs.append(files(run.output_dir))
    assert runs[0] == runs[1] == runs[2]
    records = [json.loads(line) for line in runs[0]["machine_generated_instructions.jsonl"].splitlines()]
    assert len(records) == 30 and max(r["request_idx"] for r in records) >= 1  # windows of 6 requests


def test_streamed_requests_each_carry_their_own_seed(config: PipelineConfig) -> None:
    backend = StreamingFakeBackend(order_seed=0)
    generate_instructions(config, backend)
    seeds = [params.seed for _, params in backend.calls]
    assert all(len(prompts) == 1 for prompts, _ in backend.calls) and len(set(seeds)) == len(seeds)


def test_the_window_changes_the_output_only_through_the_prompts(config: PipelineConfig) -> None:
    """W is part of what the output is a function of: another window, other prompts."""
    generate_instructions(config, StreamingFakeBackend(order_seed=0))
    other = dataclasses.replace(config, output_dir=config.output_dir.with_name("w2"), window=2)
    generate_instructions(other, StreamingFakeBackend(order_seed=0))
    first = (config.output_dir / "machine_generated_instructions.jsonl").read_text()
    second = (other.output_dir / "machine_generated_instructions.jsonl").read_text()
    assert first != second


def test_a_window_of_one_streams_without_lag(config: PipelineConfig) -> None:
    """W = 1 leaves no room to build ahead: each request waits for the previous admission."""
    one = dataclasses.replace(config, output_dir=config.output_dir.with_name("w1"), window=1)
    summary = generate_instructions(one, StreamingFakeBackend(order_seed=0))
    records = (one.output_dir / "machine_generated_instructions.jsonl").read_text().splitlines()
    assert len(records) == one.num_instructions and summary is not None


def test_a_rerun_removes_the_temporaries_of_a_run_killed_while_publishing(config: PipelineConfig) -> None:
    generate_instructions(config, StreamingFakeBackend(order_seed=0))
    output = config.output_dir / "machine_generated_instructions.jsonl"
    published = output.read_bytes()
    stale = output.with_name(f".{output.name}.k1ll3d.tmp")
    stale.write_bytes(published[: len(published) // 2])  # what a kill -9 mid-publish leaves
    (config.output_dir / "machine_generated_instructions.jsonl").unlink()  # killed before the rename
    generate_instructions(config, StreamingFakeBackend(order_seed=0))
    assert output.read_bytes() == published and not stale.exists()
