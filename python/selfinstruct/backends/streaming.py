"""Streamed generation: keep up to W requests in flight and hand back each one as it finishes.

The driver submits request `key` (any hashable, usually the prompt's position in the step), then
takes finished requests with `next_finished()` in whatever order the engine completes them and
restores submission order itself (a reorder buffer). Because the driver decides *when* each
prompt is built (right after admitting result i - W, it builds prompt i), the output depends only
on the seed and W, never on completion timing.

Backends with a native streaming engine (the OpenAI-compatible client's worker threads, vLLM's
engine loop) implement `open_stream`; every other backend gets `RoundsStream`, which runs the
requests pending at each `next_finished()` call as one batched call. Requests carry their own
seeds (`params.seed`): a backend with `generate_with_seeds(prompts, params, seeds)` (transformers)
runs them in one batch anyway; one with only `generate` gets one call per seeded request.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Hashable, Protocol, runtime_checkable

from .base import Backend, Completion, SamplingParams


@runtime_checkable
class GenerationStream(Protocol):
    """Requests in flight on one backend; not thread-safe (one driver thread uses it)."""

    def submit(self, key: Hashable, prompt: str, params: SamplingParams) -> None:
        """Queue one request; returns at once (the engine starts it when it has capacity)."""
        ...

    def next_finished(self, timeout: float | None = None) -> tuple[Hashable, list[Completion]]:
        """Block until some submitted request finishes and return (key, its `params.n` completions).

        Raises `BackendError` when a request failed for good, `TimeoutError` after `timeout`
        seconds, and `LookupError` when nothing is pending."""
        ...

    def pending(self) -> int:
        """Submitted requests not yet returned by `next_finished`."""
        ...

    def close(self) -> None:
        """Cancel what is still in flight (idempotent); the backend itself stays open."""
        ...


class InFlightClock:
    """Wall time during which at least one request was in flight (thread-safe).

    `start()` when a request enters the engine, `stop()` when it leaves; `seconds()` is the busy
    time so far, which over a run's wall time is the fraction the engine was kept busy.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._busy = 0.0
        self._since = 0.0

    def start(self) -> None:
        with self._lock:
            if self._active == 0:
                self._since = time.perf_counter()
            self._active += 1

    def stop(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self._busy += time.perf_counter() - self._since

    def seconds(self) -> float:
        with self._lock:
            running = time.perf_counter() - self._since if self._active else 0.0
            return self._busy + running


class RoundsStream:
    """The stream of a batch-only backend: pending requests run as one batched call per distinct
    SamplingParams (seed aside) when the driver asks for a result and none is ready.

    No overlap with the driver, but deterministic: which requests share a batch depends only on
    the order of the driver's calls, never on timing. Finished requests come back in submission
    order; `stats` stay the backend's (its `generate` calls)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._queued: list[tuple[Hashable, str, SamplingParams]] = []
        self._finished: collections.deque[tuple[Hashable, list[Completion]]] = collections.deque()

    def submit(self, key: Hashable, prompt: str, params: SamplingParams) -> None:
        self._queued.append((key, prompt, params))

    def next_finished(self, timeout: float | None = None) -> tuple[Hashable, list[Completion]]:
        if not self._finished:
            if not self._queued:
                raise LookupError("no request is pending")
            self._run_queued()
        return self._finished.popleft()

    def pending(self) -> int:
        return len(self._queued) + len(self._finished)

    def close(self) -> None:
        self._queued.clear()
        self._finished.clear()

    def _run_queued(self) -> None:
        queued, self._queued = self._queued, []
        # One call per distinct params (per-request seeds make params differ: group by the rest).
        groups: dict[Any, list[tuple[Hashable, str, SamplingParams]]] = collections.defaultdict(list)
        for item in queued:
            groups[_without_seed(item[2])].append(item)
        seeded = getattr(self.backend, "generate_with_seeds", None)
        for items in groups.values():
            if callable(seeded):
                prompts = [prompt for _, prompt, _ in items]
                results = seeded(prompts, items[0][2], [params.seed for _, _, params in items])
                self._finished.extend((key, list(result)) for (key, _, _), result in zip(items, results))
                continue
            # Only `generate`, whose seed is per call: unseeded requests share one call, and each
            # seeded one gets its own, so its seed stays its own. Results keep submission order.
            unseeded = [item for item in items if item[2].seed is None]
            answers: dict[int, list[Completion]] = {}
            if unseeded:
                results = self.backend.generate([prompt for _, prompt, _ in unseeded], unseeded[0][2])
                answers.update((id(item), list(result)) for item, result in zip(unseeded, results))
            for item in items:
                if item[2].seed is not None:
                    answers[id(item)] = list(self.backend.generate([item[1]], item[2])[0])
            self._finished.extend((item[0], answers[id(item)]) for item in items)


def _without_seed(params: SamplingParams) -> tuple[Any, ...]:
    return (params.max_tokens, params.temperature, params.top_p, params.stop, params.presence_penalty,
            params.frequency_penalty, params.n)


def open_stream(backend: Backend, window: int) -> GenerationStream:
    """The backend's own stream when it has one (`backend.open_stream(window)`), else `RoundsStream`."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    native = getattr(backend, "open_stream", None)
    if callable(native):
        return native(window)
    return RoundsStream(backend)
