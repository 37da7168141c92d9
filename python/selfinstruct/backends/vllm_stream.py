"""Streamed generation on the vLLM backend's own engine: requests stay in flight continuously.

A background thread runs vLLM's engine loop (`LLMEngine.add_request` / `step`, the continuous
batching loop vLLM's async front end runs too): each `step` advances every running request by a
token, new requests join at the next step, and a finished request is handed to the driver at
once. vLLM's `AsyncLLM` is not used because it cannot run its engine in the calling process
("EngineCore in asyncio without multiprocessing is not supported" in vLLM 0.32), which the
backend does by default on CPU, and because the loop here shares the one engine `generate` uses
(no second copy of the model).

Each request samples with its own seed (`params.seed`), so its tokens do not depend on which
requests shared its steps beyond the engine's batch numerics (see docs/backends.md).
"""
from __future__ import annotations

import itertools
import queue
import threading
from typing import Any, Callable, Hashable

from .base import BackendError, Completion, GenerationStats, SamplingParams
from .streaming import InFlightClock

IDLE_POLL_SECONDS = 0.05
_stream_ids = itertools.count()


class VLLMStream:
    """Requests in flight on a `vllm.LLMEngine`, at most `window` at once; see `GenerationStream`.

    `convert(params)` makes vLLM sampling params, `finish(output)` turns a finished RequestOutput
    into completions; they are counted in `stats` as the driver takes them, with the prompt tokens
    the prefix cache served (`cached_prompt_tokens`).
    """

    def __init__(self, engine: Any, window: int, convert: Callable[[SamplingParams], Any],
                 finish: Callable[[Any], list[Completion]], stats: GenerationStats,
                 on_close: Callable[["VLLMStream"], None]) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.stats = stats
        self.clock = InFlightClock()
        self._engine = engine
        self._convert = convert
        self._finish = finish
        self._on_close = on_close
        self._prefix = f"selfinstruct-{next(_stream_ids)}-"
        self._counter = itertools.count()
        self._incoming: queue.SimpleQueue[tuple[str, Hashable, str, Any]] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Hashable, Any]] = queue.SimpleQueue()
        self._in_engine: dict[str, Hashable] = {}  # request id -> key (engine thread only)
        self._keys: set[Hashable] = set()
        self._pending = 0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._failure: BaseException | None = None
        self._recorded_seconds = 0.0
        self._thread = threading.Thread(target=self._loop, name="vllm-stream", daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, prompt: str, params: SamplingParams) -> None:
        if self._closed.is_set():
            raise BackendError("the stream is closed")
        if self._failure is not None:
            raise BackendError(f"the vLLM engine failed: {self._failure!r}")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if key in self._keys:
            raise ValueError(f"request key {key!r} is already pending: keys must be unique among pending requests")
        sampling = self._convert(params)  # invalid params raise here, in the driver's thread
        self._keys.add(key)
        self._pending += 1
        self._incoming.put((self._prefix + str(next(self._counter)), key, prompt, sampling))
        self._wake.set()

    def next_finished(self, timeout: float | None = None) -> tuple[Hashable, list[Completion]]:
        if self._pending == 0:
            raise LookupError("no request is pending")
        try:
            key, outcome = self._done.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no request finished within {timeout} s") from None
        self._pending -= 1
        self._keys.discard(key)
        if isinstance(outcome, BaseException):
            raise outcome
        completions, cached = outcome
        self.stats.record_request(completions)
        self.stats.cached_prompt_tokens += cached
        busy = self.clock.seconds()
        self.stats.seconds += busy - self._recorded_seconds
        self._recorded_seconds = busy
        return key, completions

    def pending(self) -> int:
        return self._pending

    def in_flight(self) -> int:
        """Requests inside the engine now (for progress displays and benchmarks)."""
        return len(self._in_engine)

    def close(self) -> None:
        """Abort what is still in the engine and stop the loop (idempotent); the backend stays open."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        self._thread.join()
        self._pending = 0
        self._keys.clear()
        self._on_close(self)

    def _loop(self) -> None:
        try:
            while not self._closed.is_set():
                self._admit()
                if self._in_engine:
                    for output in self._engine.step():
                        if output.finished:
                            self._deliver(output)
                else:
                    self._wake.wait(IDLE_POLL_SECONDS)
                    self._wake.clear()
        except BaseException as error:  # the engine failed: every pending request fails with it
            self._failure = error
            failure = BackendError(f"the vLLM engine failed: {error!r}")
            for key in list(self._in_engine.values()):
                self._done.put((key, failure))
            while True:
                try:
                    _, key, _, _ = self._incoming.get_nowait()
                except queue.Empty:
                    break
                self._done.put((key, failure))
            self._in_engine.clear()
        finally:
            if self._in_engine:
                try:
                    self._engine.abort_request(list(self._in_engine))
                except Exception:
                    pass  # best effort: the engine may be the thing that failed
                for _ in self._in_engine:
                    self.clock.stop()
                self._in_engine.clear()

    def _admit(self) -> None:
        """Move submitted requests into the engine while fewer than `window` are there."""
        while len(self._in_engine) < self.window:
            try:
                request_id, key, prompt, sampling = self._incoming.get_nowait()
            except queue.Empty:
                return
            try:
                self._engine.add_request(request_id, prompt, sampling)
            except Exception as error:  # e.g. a prompt longer than the model's context
                self._done.put((key, BackendError(f"vLLM refused request {key!r}: {error}")))
                continue
            self._in_engine[request_id] = key
            self.clock.start()

    def _deliver(self, output: Any) -> None:
        key = self._in_engine.pop(output.request_id, None)
        if key is None:
            return  # not ours (cannot happen while generate() is refused during a stream)
        self.clock.stop()
        try:
            outcome: Any = (self._finish(output), int(getattr(output, "num_cached_tokens", 0) or 0))
        except BackendError as error:
            outcome = error
        self._done.put((key, outcome))
