"""Pool.similarity_fields: the batched similarity fields equal the pipeline's per-entry numpy code
(Pool.scores, top_entries, np.mean) bit for bit, for any range, thread count and pair kernel (the
one-row path, the packed prefix, the cost model's pick); its mean is numpy's own summation;
misuse and concurrent admission are handled."""
from __future__ import annotations

import functools
import json
import math
import random
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import selfinstruct as si
from selfinstruct import _core
from selfinstruct.pipeline.similarity import (PACKED_ROWS_PER_THREAD, SimilarityFields, packed_piece_size, piece_size,
                                              top_entries)
from selfinstruct.pool import numpy_sum_buffer

WORDS = [f"w{i}" for i in range(40)]
# Texts on both sides of 64 tokens (the dense and the blocked LCS kernels), with repeats (ties).
TEXT = st.lists(st.sampled_from(WORDS[:12]), min_size=0, max_size=80).map(" ".join)


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 16))) for _ in range(count)]


@functools.lru_cache(maxsize=None)
def _big_pool() -> si.Pool:
    return si.Pool(_texts(20_001, 7), threads=2)


def _same_float(a: float, b: float) -> bool:
    """Bit-identical (any NaN matches any NaN: the payload is not part of the contract)."""
    return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)


def _assert_rows_match(pool: si.Pool, first: int, last: int, k: int, threads: int, kernel: str = "auto") -> None:
    top_index, top_f, mean = pool.similarity_fields(first, last, k, threads, kernel)
    n = last - first
    assert top_index.shape == (n, k) and top_index.dtype == np.int64
    assert top_f.shape == (n, k) and top_f.dtype == np.float64 and mean.shape == (n,)
    for row, entry in enumerate(range(first, last)):
        scores = pool.scores(pool[entry], entry)  # the pool as it stood before entry joined
        order = top_entries(scores, k) if k else np.arange(0)
        kept = len(order)
        assert top_index[row, :kept].tolist() == order.tolist()
        assert [_same_float(a, b) for a, b in zip(top_f[row, :kept], scores[order])] == [True] * kept
        assert (top_index[row, kept:] == -1).all() and np.isnan(top_f[row, kept:]).all()
        if entry == 0:
            assert math.isnan(mean[row])
        else:
            assert _same_float(float(mean[row]), float(np.mean(scores)))


KERNELS = st.sampled_from(["auto", "row", "packed"])


@given(texts=st.lists(TEXT, max_size=40), k=st.integers(0, 12), threads=st.sampled_from([1, 2, 3]), kernel=KERNELS,
       data=st.data())
def test_every_range_matches_the_per_entry_path(texts: list[str], k: int, threads: int, kernel: str,
                                                data: st.DataObject) -> None:
    pool = si.Pool(texts)
    first = data.draw(st.integers(0, len(pool)))
    last = data.draw(st.integers(first, len(pool)))
    _assert_rows_match(pool, first, last, k, threads, kernel)


# Entries of 0 to 70 tokens (each lane width of the packed kernel, and past it), many ties.
MIXED_TEXT = st.lists(st.sampled_from(WORDS[:6]), min_size=0, max_size=70).map(" ".join)


@given(texts=st.lists(MIXED_TEXT, min_size=1, max_size=120), threads=st.sampled_from([1, 2]), data=st.data())
def test_the_packed_prefix_gives_the_row_paths_doubles(texts: list[str], threads: int, data: st.DataObject) -> None:
    pool = si.Pool(texts)
    first = data.draw(st.integers(0, len(pool)))
    last = data.draw(st.integers(first, len(pool)))
    row = pool.similarity_fields(first, last, 10, threads, "row")
    for kernel in ("packed", "auto"):
        computed = pool.similarity_fields(first, last, 10, threads, kernel)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(computed, row)), kernel


@pytest.mark.parametrize("kernel", ["row", "packed"])
@pytest.mark.parametrize("first,last", [(0, 20), (120, 140), (250, 260), (8185, 8200), (16380, 16390), (19995, 20001)])
def test_long_rows_match_the_per_entry_path(first: int, last: int, kernel: str) -> None:
    _assert_rows_match(_big_pool(), first, last, 10, 2, kernel)


@given(entry=st.one_of(st.integers(1, 300), st.sampled_from([7, 8, 9, 127, 128, 129, 136, 255, 256, 257, 8191, 8192,
                                                             8193, 16384, 16385]), st.integers(300, 20_000)))
def test_mean_is_np_mean_of_real_score_rows(entry: int) -> None:
    pool = _big_pool()
    mean = pool.similarity_fields(entry, entry + 1, 1, 1)[2][0]
    assert _same_float(float(mean), float(np.mean(pool.scores(pool[entry], entry))))


VALUES = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(st.one_of(st.lists(VALUES, max_size=300), st.lists(st.floats(0, 1), min_size=120, max_size=140)))
def test_numpy_sum_of_any_values(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # sums of huge values overflow, in both
        expected = float(np.sum(array))
    assert _same_float(_core._numpy_sum(array, numpy_sum_buffer(np.getbufsize())), expected)


@given(n=st.integers(0, 40_000), seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0.0, 3.0, 12.0]))
def test_numpy_sum_of_long_arrays(n: int, seed: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    array = rng.random(n) * 10.0 ** rng.uniform(-spread, spread, n)
    assert _same_float(_core._numpy_sum(array, numpy_sum_buffer(np.getbufsize())), float(np.sum(array)))
    # Earlier numpy sums in pieces of its 8192-value buffer, each pairwise, added up in order.
    pieces = 0.0
    for start in range(0, n, 8192):
        pieces += float(np.sum(array[start:start + 8192]))
    assert _same_float(_core._numpy_sum(array, 8192), pieces)


def test_numpy_summation_is_recognised() -> None:
    # The probe tells the two summation orders apart, and this numpy uses one of them.
    probe = np.random.default_rng(0).random(2 * 8192 + 4099) * np.geomspace(1e-6, 1e6, 2 * 8192 + 4099)
    assert _core._numpy_sum(probe, 0) != _core._numpy_sum(probe, 8192)
    assert numpy_sum_buffer(np.getbufsize()) in (0, np.getbufsize())


def test_misuse_raises_clear_errors() -> None:
    pool = si.Pool(_texts(30, 1))
    for first, last in [(-1, 3), (5, 4), (0, 31), (True, 3)]:
        with pytest.raises(ValueError, match="first|last"):
            pool.similarity_fields(first, last)
    with pytest.raises(ValueError, match="k"):
        pool.similarity_fields(0, 3, k=-1)
    with pytest.raises(ValueError, match="threads"):
        pool.similarity_fields(0, 3, threads=0)
    with pytest.raises(ValueError, match="kernel"):
        pool.similarity_fields(0, 3, kernel="fast")
    with pytest.raises(ValueError, match="kernel"):
        pool._core.similarity_fields(0, 3, kernel=3)
    with pytest.raises(ValueError, match="len\\(pool\\) = 30"):
        pool._core.similarity_fields(0, 31)
    top_index, top_f, mean = pool.similarity_fields(30, 30)
    assert top_index.shape == (0, 10) and top_f.shape == (0, 10) and mean.shape == (0,)


def test_admission_beside_it_changes_nothing_it_computes() -> None:
    pool = si.Pool(_texts(200, 2), threads=2)
    results: list[tuple[int, int, tuple]] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def admit() -> None:
        try:
            for seed in range(3, 9):
                pool.admit(_texts(400, seed))
        except BaseException as error:  # noqa: BLE001 - checked below
            errors.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=admit)
    writer.start()
    while not done.is_set():
        last = len(pool)
        first = max(0, last - 50)
        results.append((first, last, pool.similarity_fields(first, last, 10, 2)))
    writer.join()
    assert errors == [] and results
    for first, last, computed in results[-5:]:  # the pool only grew: earlier entries are unchanged
        expected = pool.similarity_fields(first, last, 10, 1)
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(computed, expected))


def test_failed_thread_start_raises_and_the_pool_stays_usable() -> None:
    # Under a small address-space limit, 500 thread stacks cannot be mapped.
    script = textwrap.dedent(
        """
        import resource
        import selfinstruct as si
        pool = si.Pool([f"w{i} w{i+1} w{i+2}" for i in range(2000)], threads=1)
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        try:
            pool.similarity_fields(1000, 2000, threads=500)
        except (RuntimeError, MemoryError) as error:
            print("raised", type(error).__name__)
        print(pool.similarity_fields(1990, 2000, threads=2)[0][-1, 0])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["raised", "RuntimeError", "1998"]


def _side_log(tmp_path: Path, name: str, pool: si.Pool, base: int, count: int) -> SimilarityFields:
    fields = SimilarityFields(pool, base, tmp_path / name)
    fields.recover(0)
    fields.add(count)
    return fields


def test_the_pipeline_pass_is_the_per_admission_path_and_resumes(tmp_path: Path) -> None:
    pool = si.Pool(_texts(400, 5))
    base, count = 40, 360
    reference = _side_log(tmp_path, "reference.jsonl", pool, base, count)
    reference.finish()
    expected = "".join(json.dumps(reference.fields(a), ensure_ascii=False) + "\n" for a in range(count))
    assert (tmp_path / "reference.jsonl").read_text() == expected

    killed = _side_log(tmp_path, "resumed.jsonl", pool, base, count)
    while killed.done < 100:
        killed.work(2, pairs=500)
    killed.flush()
    with open(tmp_path / "resumed.jsonl", "a") as handle:
        handle.write('{"most_similar": {"w1')  # a torn line, as kill -9 during a write leaves
    resumed = SimilarityFields(pool, base, tmp_path / "resumed.jsonl")
    resumed.recover(count)
    assert resumed.done >= 100 and resumed.pending == count - resumed.done
    resumed.start_background()
    resumed.finish()
    assert (tmp_path / "resumed.jsonl").read_bytes() == (tmp_path / "reference.jsonl").read_bytes()


class _SlowReads(si.Pool):
    """A pool whose text reads yield the GIL for a moment, so admissions land while the background
    thread copies the pool (the window in which it once scored admissions its copy lacked)."""

    def __getitem__(self, index: int) -> str:
        time.sleep(0.0002)
        return super().__getitem__(index)


def test_the_background_pass_keeps_up_with_a_growing_pool(tmp_path: Path) -> None:
    texts = _texts(1500, 6)
    reference = _side_log(tmp_path, "reference.jsonl", si.Pool(texts), 30, len(texts) - 30)
    reference.finish()
    pool = _SlowReads(texts[:30])
    growing = _side_log(tmp_path, "growing.jsonl", pool, 30, 0)
    growing.start_background()
    for start in range(30, len(texts), 7):  # admissions arrive while the thread computes
        batch = texts[start:start + 7]
        pool.add(batch)
        growing.add(len(batch))
        time.sleep(0.0005)
        if start % 10 == 0:
            growing.flush()
    growing.finish()
    assert (tmp_path / "growing.jsonl").read_bytes() == (tmp_path / "reference.jsonl").read_bytes()


@given(start=st.integers(0, 10**7), pairs=st.integers(0, 2**40))
def test_pieces_are_the_most_entries_within_their_pairs(start: int, pairs: int) -> None:
    def cost(count: int) -> int:
        return count * start + count * (count - 1) // 2

    count = piece_size(start, pairs)
    assert cost(count) <= pairs < cost(count + 1)


@given(start=st.integers(0, 10**7), threads=st.integers(1, 64))
def test_packed_pieces_grow_with_the_pool_up_to_their_cap(start: int, threads: int) -> None:
    count = packed_piece_size(start, threads)
    assert count == min(threads * PACKED_ROWS_PER_THREAD, math.isqrt(128 * threads * start))
    assert count <= packed_piece_size(start + 1000, threads) <= threads * PACKED_ROWS_PER_THREAD


def test_a_piece_of_work_stays_small_from_an_empty_pool(tmp_path: Path) -> None:
    fields = _side_log(tmp_path, "fields.jsonl", si.Pool(_texts(3000, 8)), 0, 3000)
    fields.work(2, pairs=5_000)  # 10,000 pairs for two threads: 141 entries, not all 3,000
    assert fields.done == 141 and fields.pairs == 141 * 140 // 2


@pytest.mark.parametrize("kernel", ["row", "packed"])
def test_ctrl_c_stops_a_long_call(kernel: str) -> None:
    # 8 * 10^8 pairs (1.6 * 10^9 packed), seconds of work on one thread: Ctrl-C ends it between slices instead.
    script = textwrap.dedent(
        """
        import signal, threading, time
        import selfinstruct as si
        pool = si.Pool([f"w{i % 97} w{i % 89} w{i % 83} w{i % 79} w{i % 7}" for i in range(40_000)])
        threading.Timer(0.3, signal.raise_signal, (signal.SIGINT,)).start()
        started = time.perf_counter()
        try:
            pool.similarity_fields(0, 40_000, threads=1, kernel=KERNEL)
            print("finished", time.perf_counter() - started)
        except KeyboardInterrupt:
            print("interrupted", time.perf_counter() - started)
        """
    ).replace("KERNEL", repr(kernel))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == 0, done.stderr
    outcome, seconds = done.stdout.split()
    assert outcome == "interrupted" and float(seconds) < 5.0
