"""A GenerationStream whose requests run on worker threads, up to `window` at once.

For engines reached through blocking calls (HTTP): each worker takes the next submitted request,
runs `work(prompt, params)` and queues the outcome; the driver takes outcomes in completion order.
Workers start on demand, so a small run does not start `window` threads.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Hashable, Union

from .base import BackendError, Completion, GenerationStats, SamplingParams
from .http_client import Cancelled
from .streaming import FinishedQueue

# One request's completions, or (completions, prompt tokens served from the prefix cache).
Work = Callable[[str, SamplingParams], Union[list[Completion], tuple[list[Completion], int]]]
_STOP = object()


class ThreadedStream(FinishedQueue):
    """Requests in flight on worker threads; see `GenerationStream` for the contract.

    Finished requests are added to `stats` (when given) as the driver takes them, with the wall
    time during which at least one request was in flight (`clock`).
    """

    def __init__(self, work: Work, window: int, stats: GenerationStats | None = None,
                 on_close: Callable[[], None] | None = None, on_worker_exit: Callable[[], None] | None = None,
                 name: str = "stream") -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        super().__init__(stats)
        self.window = window
        self._work = work
        self._on_close = on_close  # interrupts the work in flight
        self._on_worker_exit = on_worker_exit  # frees a worker thread's resources (connections)
        self._name = name
        self._todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._idle = 0

    def submit(self, key: Hashable, prompt: str, params: SamplingParams) -> None:
        self.register(key, prompt, params)
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # a waiting worker takes it
            elif len(self._workers) < self.window:
                worker = threading.Thread(target=self._run, name=f"{self._name}-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            # else: it waits in the queue until a worker is free (at most `window` in flight)
        self._todo.put((key, prompt, params))

    def close(self) -> None:
        if self.closed:
            return
        self.forget_all()
        if self._on_close is not None:
            self._on_close()
        for _ in self._workers:
            self._todo.put(_STOP)

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            if self._on_worker_exit is not None:
                self._on_worker_exit()

    def _serve(self) -> None:
        while True:
            item = self._todo.get()
            if item is _STOP or self.closed:
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
            self.finish(key, outcome)
            with self._lock:
                self._idle += 1
