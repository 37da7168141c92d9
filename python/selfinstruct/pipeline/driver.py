"""The streamed driver: a bounded window of requests in flight, results taken in submission order.

Requests are numbered 0, 1, 2, ... within a step. The driver submits requests start .. start+W-1,
then waits for the engine: results come back in any order and wait in a reorder buffer until every
earlier one has been taken. Request i+W is built right after result i has been taken (admitted),
so what a prompt can show depends only on the results before i+1 - never on completion timing:
with a deterministic engine the output is a pure function of the seed and W. With `lag=1` it is
built after result i+1 is taken instead (the step finishes admitting i meanwhile): the same
prompts, since a prompt shows only what results up to i admitted.

While the engine has nothing finished, the driver hands its idle time to `idle()` (the similarity
fields of admitted instructions are computed there), one small piece at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from ..backends.base import Completion, SamplingParams
from ..backends.streaming import GenerationStream


@dataclass
class Request:
    """One prompt of a step: the text sent, its sampling parameters, and what the step needs back."""

    index: int
    prompt: str
    params: SamplingParams
    context: Any = field(default=None)


Builder = Callable[[int], Optional[Request]]  # None: the step has no request with this index


class Window:
    """Up to `size` requests in flight on `stream`; `results(start)` yields them in order."""

    def __init__(self, stream: GenerationStream, size: int, build: Builder,
                 idle: Optional[Callable[[], bool]] = None, lag: int = 0) -> None:
        if size < 1:
            raise ValueError(f"window must be >= 1, got {size}")
        if lag not in (0, 1) or lag >= size:
            raise ValueError(f"lag must be 0, or 1 with a window above 1, got {lag} (window {size})")
        self.stream = stream
        self.size = size
        self.build = build
        self.idle = idle  # returns True while it has more work
        self.lag = lag  # 1: request i+size is built after result i+1 is taken (the caller finishes i meanwhile)
        self._in_flight: dict[int, Request] = {}
        self._finished: dict[int, list[Completion]] = {}
        self._next_build = 0
        self._exhausted = False

    def results(self, start: int = 0) -> Iterator[tuple[Request, list[Completion]]]:
        """(request, its completions) for start, start+1, ... until the step has no more requests.

        Stop iterating at any time (close the generator): requests still in flight are cancelled.
        """
        self._next_build = start
        try:
            self._fill(start)
            position = start
            while position in self._in_flight:
                while position not in self._finished:
                    self._wait()
                request = self._in_flight.pop(position)
                completions = self._finished.pop(position)
                if len(completions) != request.params.n:
                    raise RuntimeError(f"the backend returned {len(completions)} completions for request "
                                       f"{position}, expected {request.params.n}")
                yield request, completions  # the caller admits it before we go on
                position += 1
                self._fill(position - self.lag)
        finally:
            self.stream.close()

    def _fill(self, position: int) -> None:
        """Submit requests up to position + size - 1 (built now, from the state after `position` - 1)."""
        while not self._exhausted and self._next_build < position + self.size:
            request = self.build(self._next_build)
            if request is None:
                self._exhausted = True
                return
            self._in_flight[request.index] = request
            self.stream.submit(request.index, request.prompt, request.params)
            self._next_build += 1

    def _wait(self) -> None:
        """Take one finished request into the reorder buffer (doing idle work while none is)."""
        if self.idle is not None:
            try:
                key, completions = self.stream.next_finished(timeout=0)
            except TimeoutError:
                if self.idle():
                    return
                key, completions = self.stream.next_finished()
        else:
            key, completions = self.stream.next_finished()
        if key not in self._in_flight or key in self._finished:
            raise RuntimeError(f"the generation stream returned an unknown or repeated request {key!r}")
        self._finished[key] = list(completions)
