"""Reading ahead of and writing behind the admission, each in a daemon thread.

The engine releases the GIL while it admits a batch, so parsing the next batch and writing the
previous one overlap with it. Queues are short (a few batches), so memory stays bounded. An
exception in a thread is raised in the caller at the point where its result is needed; the
threads are daemons, so Ctrl-C or an error in the caller never waits on them (a thread blocked
reading a pipe is simply abandoned).
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Generic, Iterator, TypeVar

Item = TypeVar("Item")
_END = object()
_POLL = 0.1  # seconds between checks for a stopped partner


class ReadAhead(Generic[Item]):
    """Iterates over `items` in a daemon thread, at most `depth` items ahead of the consumer.

    `busy_seconds` is the time the thread spent producing items.
    """

    def __init__(self, items: Iterator[Item], depth: int = 2, name: str = "read-ahead") -> None:
        self._queue: queue.Queue = queue.Queue(depth)
        self._stopped = threading.Event()
        self.busy_seconds = 0.0
        self._thread = threading.Thread(target=self._produce, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _produce(self, items: Iterator[Item]) -> None:
        try:
            while True:
                started = time.perf_counter()
                item = next(items, _END)
                self.busy_seconds += time.perf_counter() - started
                if not self._put((True, item)) or item is _END:
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            self._put((False, error))

    def _put(self, entry: tuple[bool, object]) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Item]:
        while True:
            ok, item = self._queue.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop producing (the thread ends at its next item)."""
        self._stopped.set()


class WriteBehind(Generic[Item]):
    """Calls `work(item)` in a daemon thread for each submitted item, in order, at most `depth` behind.

    Its first exception is raised by the next `submit` or by `finish`. `busy_seconds` is the time
    spent in `work`.
    """

    def __init__(self, work: Callable[[Item], None], depth: int = 2, name: str = "write-behind") -> None:
        self._work = work
        self._queue: queue.Queue = queue.Queue(depth)
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self.busy_seconds = 0.0
        self._thread = threading.Thread(target=self._consume, name=name, daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        while not self._stopped.is_set():
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _END:
                return
            started = time.perf_counter()
            try:
                self._work(item)
            except BaseException as error:
                self._error = error
                return
            finally:
                self.busy_seconds += time.perf_counter() - started

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, item: Item) -> None:
        while True:
            self._raise_error()
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every submitted item is done; raise the thread's exception, if any."""
        self.submit(_END)  # type: ignore[arg-type]
        while self._thread.is_alive():
            self._thread.join(_POLL)
        self._raise_error()

    def close(self) -> None:
        """Stop after the current item (items not yet started are dropped)."""
        self._stopped.set()
