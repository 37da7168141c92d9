"""The admission pool: keep a text only if it is not too similar to anything already kept."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence, overload

import numpy as np
import numpy.typing as npt

from . import _core
from .rouge import _threads, prepare_texts, tokenizer_mode
from .unicode_tokenizer import unicode_pretokenize

_FIELDS_KERNELS = ("auto", "row", "packed")  # similarity_fields' kernels, in the core's numbering


def _index_arg(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


@functools.lru_cache(maxsize=None)
def numpy_sum_buffer(bufsize: int) -> int | None:
    """How this numpy sums a float64 array, found by asking it: 0 when pairwise over the whole
    array (numpy 2.3 on), `bufsize` when pairwise over consecutive pieces of its ufunc buffer
    (earlier numpy), None when neither (a numpy whose means the core cannot reproduce)."""
    probe = np.random.default_rng(0).random(2 * bufsize + 4099) * np.geomspace(1e-6, 1e6, 2 * bufsize + 4099)
    expected = float(np.sum(probe))
    return next((buffer for buffer in (0, bufsize) if _core._numpy_sum(probe, buffer) == expected), None)


def _as_list(texts: Iterable[str], name: str) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be an iterable of str, not a single {type(texts).__name__}")
    # Always a private copy: another thread may change the caller's list while we work.
    return list(texts)


@dataclass(frozen=True)
class Decision:
    """What happened to one candidate.

    admitted: whether it joined the pool; index: its pool index if admitted.
    best_index / best_score: for a rejected candidate, its most similar pool entry and that F
    (above the threshold); None for admitted ones (their scores were never computed in full).
    """

    admitted: bool
    index: int | None
    best_index: int | None
    best_score: float | None


class AdmitResult(Sequence[Decision]):
    """Decisions of one `Pool.admit` call, in candidate order, also as numpy arrays."""

    def __init__(self, index: npt.NDArray[np.int64], best_index: npt.NDArray[np.int64], best_score: npt.NDArray[np.float64]):
        self.index = index
        self.best_index = best_index
        self.best_score = best_score
        self.admitted: npt.NDArray[np.bool_] = index >= 0

    def __len__(self) -> int:
        return len(self.index)

    @overload
    def __getitem__(self, position: int) -> Decision: ...
    @overload
    def __getitem__(self, position: slice) -> list[Decision]: ...
    def __getitem__(self, position):  # type: ignore[no-untyped-def]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        index = int(self.index[position])
        if index >= 0:
            return Decision(True, index, None, None)
        return Decision(False, None, int(self.best_index[position]), float(self.best_score[position]))

    def __iter__(self) -> Iterator[Decision]:
        return (self[i] for i in range(len(self)))

    @property
    def num_admitted(self) -> int:
        return int(self.admitted.sum())


class Pool:
    """A growing set of texts with exact greedy ROUGE-L admission.

    `admit(candidates)` keeps a candidate iff its ROUGE-L F against every text already in the pool
    (including candidates admitted earlier in the same call) is at most `threshold`: the same
    decisions, in the same order, as a one-at-a-time loop with rouge-score, for any thread count.
    """

    def __init__(
        self,
        texts: Iterable[str] = (),
        *,
        threshold: float = 0.7,
        tokenizer: str = "rouge",
        threads: int | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise TypeError(f"threshold must be a number, not {type(threshold).__name__}")
        if not (0.0 <= float(threshold) <= 1.0) or math.isnan(threshold):
            raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
        self._mode = tokenizer_mode(tokenizer)
        self.tokenizer = tokenizer
        self._core = _core.Pool(float(threshold), self._mode, _threads(threads))
        self.add(texts)

    @property
    def threshold(self) -> float:
        return self._core.threshold

    @property
    def threads(self) -> int:
        return self._core.threads

    @threads.setter
    def threads(self, threads: int | None) -> None:
        self._core.threads = _threads(threads)

    def __len__(self) -> int:
        return len(self._core)

    def __getitem__(self, index: int) -> str:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"pool indices must be integers, not {type(index).__name__}")
        return self._core.text(int(index))

    @property
    def texts(self) -> list[str]:
        """The pool's texts in admission order (a copy)."""
        return self._core.texts()

    def texts_at(self, indices: Sequence[int] | npt.NDArray[np.integer]) -> list[str]:
        """The texts at these pool indices (negative ones count from the end), read at once under
        one lock: many times faster than `pool[i]` one by one. IndexError names an index out of range."""
        return self._core.texts_at(np.asarray(indices, dtype=np.int64))

    def _originals(self, batch: list[str], prepared: Sequence[str]) -> Sequence[str] | None:
        # The core stores what it is given; with the unicode tokenizer that is the pre-tokenized
        # form, so the original texts travel beside it.
        return None if prepared is batch else batch

    def add(self, texts: Iterable[str]) -> None:
        """Append texts without any similarity check (seed tasks, or a pool saved earlier)."""
        batch = _as_list(texts, "texts")
        prepared = prepare_texts(batch, self.tokenizer)
        self._core.add(prepared, self._originals(batch, prepared))

    def admit(self, candidates: Iterable[str]) -> AdmitResult:
        """Decide each candidate in order; admitted ones join the pool. See the class docs."""
        batch = _as_list(candidates, "candidates")
        prepared = prepare_texts(batch, self.tokenizer, "candidates")
        index, best_index, best_score = self._core.admit(prepared, self._originals(batch, prepared))
        return AdmitResult(index, best_index, best_score)

    def truncate(self, count: int) -> None:
        """Forget every entry from position `count` on."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"count must be a non-negative int, got {count!r}")
        self._core.truncate(int(count))

    def _query(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return unicode_pretokenize(text) if self._mode == 1 else text

    def most_similar(self, text: str, k: int = 10) -> list[tuple[int, float]]:
        """The k pool entries most similar to `text` as (index, F), best first, ties by lower index."""
        if not isinstance(k, int) or k < 0:
            raise ValueError(f"k must be a non-negative int, got {k!r}")
        return self._core.most_similar(self._query(text), k)

    def scores(self, text: str, limit: int | None = None) -> npt.NDArray[np.float64]:
        """F of `text` against every pool entry, in pool order; with `limit`, against the first
        `limit` entries only (the pool as it stood when entry `limit` joined)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        return self._core.scores(self._query(text), None if limit is None else int(limit))

    def avg_similarity(self, text: str, limit: int | None = None) -> float:
        """Mean F of `text` over the whole pool, or its first `limit` entries (numpy's mean, as the
        reference computes it)."""
        scores = self.scores(text, limit)
        return float(np.mean(scores)) if len(scores) else 0.0

    def similarity_fields(
        self, first: int, last: int, k: int = 10, threads: int | None = None, kernel: str = "auto"
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The similarity fields of entries first .. last-1, each against the pool as it stood just
        before it joined (entries [0, i) for entry i), in C++ on `threads` threads (None: the pool's
        `threads`) with the GIL released.

        Returns (top_index, top_f, mean), row r for entry first + r (n = last - first rows):
        - top_index (int64, n x k): the k entries with the highest ROUGE-L F against it, best first,
          ties by lower index (`most_similar`'s order); -1 past its i earlier entries when i < k;
        - top_f (float64, n x k): their F; NaN where top_index is -1;
        - mean (float64, n): `np.mean` of its F row, bit for bit; NaN for entry 0 (no earlier entry).
        The same values as `scores(self[i], i)` entry by entry, whichever pair kernel computes
        them: `kernel="row"` scores each entry against its i earlier ones (the `scores` path);
        `"packed"` packs entries [0, last) once per call (about 36 bytes per token of those
        entries, twice that while packing) and scores each entry against all of them with the
        packed kernel, several times faster per pair, ignoring the columns from i on; `"auto"`
        (the default) packs when the call has enough entries to pay for packing. Memory besides:
        one row of floats per thread. The pool's read lock is held for the whole call (a
        consistent pool): `add`, `admit` and `truncate` from other threads wait until it returns,
        so beside an admission loop call it over short ranges. Raises RuntimeError if numpy sums in a way the core cannot reproduce.
        """
        first, last, k = _index_arg(first, "first"), _index_arg(last, "last"), _index_arg(k, "k")
        if first > last:
            raise ValueError(f"first must be <= last, got first={first}, last={last}")
        buffer = numpy_sum_buffer(np.getbufsize())
        if buffer is None:
            raise RuntimeError(f"numpy {np.__version__} sums float64 arrays in an order the core does not reproduce, "
                               "so its means would not be bit-identical to np.mean; use Pool.scores with np.mean")
        if kernel not in _FIELDS_KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(map(repr, _FIELDS_KERNELS))}, got {kernel!r}")
        workers = self._core.threads if threads is None else _threads(threads)
        return self._core.similarity_fields(first, last, k, workers, buffer, _FIELDS_KERNELS.index(kernel))

    def stats(self) -> dict[str, int]:
        """Work counters: candidates, pairs probed (index postings, and candidate pairs sharing a
        signature within a chunk), verified by overlap, scored by LCS,
        index builds (token rankings counted, docs/admission_index.md) and candidates of dense clusters."""
        return self._core.stats()

    def timings(self) -> dict[str, float]:
        """Wall seconds spent in each step of admission since the pool was made: "tokenize"
        (tokenizing and interning candidates), "index" (indexing admitted entries, and rebuilds),
        "pool_probe" (every candidate against the pool), "within_chunk" (the open candidates of a
        chunk against each other) and "decide" (deciding in order). See docs/admission_index.md."""
        return self._core.timings()
