"""The similarity fields of admitted instructions, computed off the admission path.

`most_similar` (the 10 pool entries with the highest ROUGE-L F, best first, ties by lower index)
and `avg_similarity_score` (numpy's mean of F over the pool) describe each admitted instruction
against the pool as it was just before its admission: the seeds and every earlier admission. They
are exact and the same values the reference computes; each costs a scan of the pool (O(pool)), so
they never run inside the admission loop. Admitted instructions are queued here; on a machine
with BACKGROUND_MIN_CORES cores or more a background thread computes them continuously (Pool's
methods release the GIL and are safe beside admission), elsewhere the driver computes them while
it waits for the engine (`work`); `finish` computes the rest when the step ends, before the
output file is written. Results are appended to a side log,
`state/<step>.similarity.jsonl`, flushed with each journal commit: a killed run keeps what it
computed. `sample=S` (`--similarity-sample S`) is an explicit, cheaper estimate instead: both
fields over S pool entries drawn at random (seeded per instruction) from that same prefix.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from .. import Pool
from ..rouge import cdist
from .seeding import derive_seed

TOP = 10
BACKGROUND_MIN_CORES = 4  # below this, a background thread would slow the admission loop itself


def top_entries(scores: np.ndarray, k: int = TOP) -> np.ndarray:
    """Indices of the k highest scores, best first, ties by lower index (as a stable sort gives)."""
    n = len(scores)
    if n > k:
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]


class SimilarityFields:
    """Queue, compute and durably log the similarity fields of a step's admissions, in order."""

    def __init__(self, pool: Pool, base: int, path: Path, sample: int = 0, seed: int = 0,
                 tokenizer: str = "rouge") -> None:
        self.pool = pool
        self.base = base  # pool entries before the first admission (the seeds)
        self.path = Path(path)
        self.sample = sample
        self.seed = seed
        self.tokenizer = tokenizer
        self.done = 0  # admissions whose fields are logged or buffered
        self.queued = 0  # admissions known (fields or not)
        self._buffer: list[str] = []
        self.pairs = 0
        self.seconds = 0.0
        self._lock = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        self._error: Optional[BaseException] = None

    def recover(self, admitted: int) -> None:
        """Keep the logged fields of the first `admitted` admissions (a torn or extra tail goes)."""
        keep, size = 0, 0
        if self.path.exists():
            with open(self.path, "rb") as handle:
                for line in handle:
                    if keep >= admitted or not line.endswith(b"\n"):
                        break
                    keep += 1
                    size += len(line)
            if self.path.stat().st_size != size:
                with open(self.path, "r+b") as handle:
                    handle.truncate(size)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")
        self.done = keep
        self.queued = admitted

    def add(self, count: int = 1) -> None:
        """`count` more admissions (the next pool entries) need their fields."""
        with self._lock:
            self.queued += count
            self._lock.notify()

    @property
    def pending(self) -> int:
        return self.queued - self.done

    @property
    def background(self) -> bool:
        return self._thread is not None

    def work(self) -> bool:
        """Compute the fields of the oldest pending admission; True while more are pending."""
        if self.pending <= 0:
            return False
        started = time.perf_counter()
        line = json.dumps(self.fields(self.done), ensure_ascii=False) + "\n"
        with self._lock:
            self._buffer.append(line)
            self.done += 1
        self.seconds += time.perf_counter() - started
        return self.pending > 0

    def start_background(self) -> None:
        """Compute pending fields on a background thread from now on (until `finish` or `stop`)."""
        self._thread = threading.Thread(target=self._background, name="similarity-fields", daemon=True)
        self._thread.start()

    def _background(self) -> None:
        try:
            while True:
                with self._lock:
                    while self.pending <= 0 and not self._stopping:
                        self._lock.wait()
                    if self._stopping and (self.pending <= 0 or self._error is not None):
                        return
                self.work()
        except BaseException as error:  # handed to the driver thread at its next flush
            self._error = error

    def stop(self, drain: bool = False) -> None:
        """End the background thread (after computing everything pending, with `drain`)."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
            if not drain:
                self.queued = self.done  # nothing more to compute
            self._lock.notify()
        while self._thread.is_alive():
            self._thread.join(timeout=1.0)
            if drain:
                self.flush()
        self._thread = None

    def fields(self, admission: int) -> dict[str, Any]:
        """The two fields of admission number `admission` (pool entry base + admission)."""
        index = self.base + admission
        text = self.pool[index]
        if self.sample and index > self.sample:
            rng = np.random.default_rng(derive_seed(self.seed, "similarity", admission))
            chosen = np.sort(rng.choice(index, size=self.sample, replace=False))
            scores = cdist([text], [self.pool[int(j)] for j in chosen], tokenizer=self.tokenizer)[0]
        else:
            chosen = None
            scores = self.pool.scores(text, index)  # the pool as it stood before this admission
        self.pairs += len(scores)
        if not len(scores):
            return {"most_similar": {}, "avg_similarity_score": 0.0}
        order = top_entries(scores)
        names = order if chosen is None else chosen[order]
        return {
            "most_similar": {self.pool[int(j)]: float(scores[i]) for i, j in zip(order, names)},
            "avg_similarity_score": float(np.mean(scores)),
        }

    def flush(self) -> None:
        """Append and fsync the computed fields (called with each journal commit)."""
        if self._error is not None:
            raise RuntimeError("computing the similarity fields failed") from self._error
        with self._lock:
            lines, self._buffer = self._buffer, []
        if not lines:
            return
        with open(self.path, "ab") as handle:
            handle.write("".join(lines).encode())
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self, flush_every: int = 1000) -> None:
        """Compute every pending admission's fields (the end of the step), flushing as it goes."""
        if self._thread is not None:
            self.stop(drain=True)
        while self.work():
            if len(self._buffer) >= flush_every:
                self.flush()
        self.flush()

    def lines(self) -> Iterator[str]:
        """The logged fields (one JSON object per line), in admission order."""
        with open(self.path, encoding="utf-8") as handle:
            yield from handle
