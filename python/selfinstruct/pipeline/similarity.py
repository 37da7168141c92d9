"""The similarity fields of admitted instructions, computed off the admission path.

`most_similar` (the 10 pool entries with the highest ROUGE-L F, best first, ties by lower index)
and `avg_similarity_score` (numpy's mean of F over the pool) describe each admitted instruction
against the pool as it was just before its admission: the seeds and every earlier admission. They
are exact and the same values the reference computes; each costs a scan of the pool (O(pool)), so
they never run inside the admission loop. Admitted instructions are queued here and computed in
pieces of consecutive admissions by `Pool.similarity_fields` (C++, parallel over admissions, the
GIL released). On a machine with BACKGROUND_MIN_CORES cores or more a background thread computes
them continuously on all cores but two, from its own copy of the pool (so admission never waits
for its scoring to release the pool); elsewhere the driver computes small pieces on one thread
while it waits for the engine (`work`); `finish` computes the rest on all cores when the step
ends, before the output file is written. Results are appended to a side log,
`state/<step>.similarity.jsonl`, flushed with each journal commit: a killed run keeps what it
computed. Pieces that hold no lock the admission loop waits for (the final pass, the background
pass) are large, so the core packs the pool prefix once per piece for its fast packed kernel.
`sample=S` (`--similarity-sample S`) is an explicit, cheaper estimate instead: both
fields over S pool entries drawn at random (seeded per instruction) from that same prefix.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from .. import Pool
from ..pool import numpy_sum_buffer
from ..rouge import cdist
from .seeding import derive_seed

TOP = 10
BACKGROUND_MIN_CORES = 4  # below this, a background thread would slow the admission loop itself
# Pairs per thread in one piece of work. Beside the admission loop a piece holds the pool's read
# lock (admission waits for it) for about 0.1 s on one core; in the final pass pieces are larger.
PIECE_PAIRS = 1 << 18
FINAL_PAIRS = 1 << 23
# Pieces that hold no lock the admission loop needs (the final pass; the background pass on its
# own copy) are made large enough for the core's packed kernel to pay for packing the pool prefix
# once per piece (see packed_piece_size); at most this many entries per thread keeps a piece to
# seconds at a pool of 10^6 (what a kill -9 loses).
PACKED_ROWS_PER_THREAD = 2048


def piece_size(start: int, pairs: int) -> int:
    """How many consecutive pool entries from `start` score at most `pairs` pairs in all (entry i
    scores i): the largest c with c*start + c*(c-1)/2 <= pairs."""
    b = 2 * start - 1
    count = (math.isqrt(b * b + 8 * pairs) - b) // 2
    while count * start + count * (count - 1) // 2 > pairs:
        count -= 1
    return max(count, 0)


def packed_piece_size(start: int, threads: int) -> int:
    """Entries from `start` in a piece scored with the packed kernel: about sqrt(128 * threads *
    start), which balances packing the prefix (once, on one thread) against the columns past each
    entry that the piece's packed rows score for nothing; at most PACKED_ROWS_PER_THREAD per thread."""
    return min(threads * PACKED_ROWS_PER_THREAD, math.isqrt(128 * threads * start))


def background_threads() -> int:
    """Threads of the background pass: every core but two (the admission loop and the engine's process)."""
    return max(1, (os.cpu_count() or 1) - 2)


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
                 tokenizer: str = "rouge", kernel: str = "auto") -> None:
        self.pool = pool
        self.base = base  # pool entries before the first admission (the seeds)
        self.path = Path(path)
        self.sample = sample
        self.seed = seed
        self.tokenizer = tokenizer
        self.kernel = kernel  # Pool.similarity_fields' pair kernel (the same values; benchmarks pick one)
        self.done = 0  # admissions whose fields are logged or buffered
        self.queued = 0  # admissions known (fields or not)
        self._buffer: list[str] = []
        self.pairs = 0
        self.seconds = 0.0
        self._lock = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        self._error: Optional[BaseException] = None
        # Exact fields come batched from the core, unless numpy sums in an order it cannot copy.
        self._batched = not sample and numpy_sum_buffer(np.getbufsize()) is not None

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

    def work(self, threads: Optional[int] = 1, pairs: int = PIECE_PAIRS, packed: bool = False) -> bool:
        """Compute the fields of the oldest pending admissions, about `pairs` pairs per thread (at
        least one admission per thread; with `packed`, at least `packed_piece_size` admissions),
        on `threads` threads (None: the pool's); True while more are pending."""
        return self._work(self.pool, threads, pairs, self.queued, packed)

    def _work(self, pool: Pool, threads: Optional[int], pairs: int, queued: int, packed: bool = False) -> bool:
        """`work` from `pool`, which holds the first `queued` admissions at least."""
        pending = queued - self.done
        if pending <= 0:
            return False
        started = time.perf_counter()
        workers = pool.threads if threads is None else threads
        first = self.done
        count = max(workers, piece_size(self.base + first, workers * pairs))
        if packed:
            count = max(count, packed_piece_size(self.base + first, workers))
        count = min(pending, count) if self._batched else 1
        lines = [json.dumps(fields, ensure_ascii=False) + "\n" for fields in self._compute(pool, first, count, threads)]
        with self._lock:
            self._buffer.extend(lines)
            self.done += count
        self.seconds += time.perf_counter() - started
        return self.pending > 0

    def _compute(self, pool: Pool, first: int, count: int, threads: Optional[int]) -> list[dict[str, Any]]:
        """The fields of admissions first .. first+count-1, from `pool` (the pool or a copy of it)."""
        if not self._batched:
            return [self.fields(admission) for admission in range(first, first + count)]
        start = self.base + first
        top_index, top_f, mean = pool.similarity_fields(start, start + count, TOP, threads, self.kernel)
        self.pairs += count * start + count * (count - 1) // 2
        out = []
        for row in range(count):
            if start + row == 0:
                out.append({"most_similar": {}, "avg_similarity_score": 0.0})
                continue
            kept = top_index[row] >= 0
            out.append({
                "most_similar": {pool[int(j)]: float(f) for j, f in zip(top_index[row][kept], top_f[row][kept])},
                "avg_similarity_score": float(mean[row]),
            })
        return out

    def start_background(self) -> None:
        """Compute pending fields on a background thread from now on (until `finish` or `stop`)."""
        self._thread = threading.Thread(target=self._background, name="similarity-fields", daemon=True)
        self._thread.start()

    def _background(self) -> None:
        threads = background_threads()
        # Scoring holds its pool's read lock for a piece, and admission (a write) would wait for
        # it: the thread scores its own copy of the pool, grown from the admitted texts.
        copy = Pool(tokenizer=self.pool.tokenizer, threads=threads) if self._batched else self.pool
        try:
            while True:
                with self._lock:
                    while self.pending <= 0 and not self._stopping:
                        self._lock.wait()
                    if self._stopping:
                        return
                queued = self.queued
                if copy is not self.pool:
                    copy.add([self.pool[i] for i in range(len(copy), self.base + queued)])
                self._work(copy, threads, PIECE_PAIRS, queued, packed=True)
        except BaseException as error:  # handed to the driver thread at its next flush
            self._error = error

    def stop(self) -> None:
        """End the background thread after its current piece; pending admissions stay queued."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join()
        self._thread = None
        self._stopping = False

    def fields(self, admission: int) -> dict[str, Any]:
        """The two fields of admission number `admission` (pool entry base + admission), alone:
        the sampled estimate, or the exact fields from one row of scores (`Pool.scores`)."""
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
        """Compute every pending admission's fields (the end of the step) on all the pool's threads,
        flushing as it goes."""
        self.stop()
        self.flush()  # also raises what the background thread ran into
        while self.work(None, FINAL_PAIRS, packed=True):
            if len(self._buffer) >= flush_every:
                self.flush()
        self.flush()

    def lines(self) -> Iterator[str]:
        """The logged fields (one JSON object per line), in admission order."""
        with open(self.path, encoding="utf-8") as handle:
            yield from handle
