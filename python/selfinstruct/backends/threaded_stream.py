"""A GenerationStream whose requests run on worker threads, up to `window` at once.

For engines reached through blocking calls (HTTP): each worker takes the next submitted request,
runs `work(prompt, params)` and queues the outcome; the driver takes outcomes in completion order.
Workers start on demand, so a small run does not start `window` threads.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Hashable

from .base import BackendError, Completion, GenerationStats, SamplingParams
from .http_client import Cancelled
from .streaming import InFlightClock

Work = Callable[[str, SamplingParams], list[Completion]]
_STOP = object()


class ThreadedStream:
    """Requests in flight on worker threads; see `GenerationStream` for the contract.

    Finished requests are added to `stats` (when given) as the driver takes them, with the wall
    time during which at least one request was in flight (`clock`).
    """

    def __init__(self, work: Work, window: int, stats: GenerationStats | None = None,
                 on_close: Callable[[], None] | None = None, on_worker_exit: Callable[[], None] | None = None,
                 name: str = "stream") -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.stats = stats
        self.clock = InFlightClock()
        self._work = work
        self._on_close = on_close  # interrupts the work in flight
        self._on_worker_exit = on_worker_exit  # frees a worker thread's resources (connections)
        self._name = name
        self._todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Hashable, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0
        self._keys: set[Hashable] = set()
        self._closed = False
        self._recorded_seconds = 0.0

    def submit(self, key: Hashable, prompt: str, params: SamplingParams) -> None:
        if self._closed:
            raise BackendError("the stream is closed")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if key in self._keys:
            raise ValueError(f"request key {key!r} is already pending: keys must be unique among pending requests")
        self._keys.add(key)
        self._pending += 1
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # a waiting worker takes it
            elif len(self._workers) < self.window:
                worker = threading.Thread(target=self._run, name=f"{self._name}-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            # else: it waits in the queue until a worker is free (at most `window` in flight)
        self._todo.put((key, prompt, params))

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
        if self.stats is not None:
            self.stats.record_request(outcome)
            busy = self.clock.seconds()
            self.stats.seconds += busy - self._recorded_seconds
            self._recorded_seconds = busy
        return key, outcome

    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._on_close is not None:
            self._on_close()
        for _ in self._workers:
            self._todo.put(_STOP)
        self._pending = 0
        self._keys.clear()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            if self._on_worker_exit is not None:
                self._on_worker_exit()

    def _serve(self) -> None:
        while True:
            item = self._todo.get()
            if item is _STOP or self._closed:
                return
            key, prompt, params = item
            self.clock.start()
            try:
                outcome: Any = self._work(prompt, params)
            except Cancelled:
                return
            except BaseException as error:  # handed to the driver, which raises it
                outcome = error if isinstance(error, BackendError) else BackendError(f"request {key!r} failed: {error!r}")
            finally:
                self.clock.stop()
            self._done.put((key, outcome))
            with self._lock:
                self._idle += 1
