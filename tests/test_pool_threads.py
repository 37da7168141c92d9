"""Pool and the scoring functions under concurrent use: no crash, no drift, decisions unchanged."""
from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import selfinstruct as si

WORDS = [f"w{i}" for i in range(60)]


def _texts(count: int, seed: int, length: tuple[int, int] = (3, 14)) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(*length))) for _ in range(count)]


def _run_threads(*targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target):
        def run():
            try:
                target()
            except BaseException as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)
        return run

    threads = [threading.Thread(target=guarded(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_reads_during_admit_see_a_consistent_pool() -> None:
    pool = si.Pool(_texts(50, 0), threads=2)
    batches = [_texts(1500, seed) for seed in range(1, 5)]
    done = threading.Event()
    seen_sizes: list[int] = []

    def admit() -> None:
        try:
            for batch in batches:
                pool.admit(batch)
        finally:
            done.set()

    def read() -> None:
        query = "w1 w2 w3 w4 w5"
        while not done.is_set():
            size = len(pool)
            scores = pool.scores(query)
            assert len(scores) >= size  # sized under the lock, never larger than the pool was
            for index, score in pool.most_similar(query, 5):
                assert si.rouge_l(pool[index], query) == score
            assert pool.threshold == 0.7
            assert pool.stats()["candidates"] >= 0
            found = [index for index, _ in pool.most_similar(query, 5)]
            assert pool.texts_at(found) == [pool[index] for index in found]  # admitted entries never move
            assert all(seconds >= 0 for seconds in pool.timings().values())
            seen_sizes.append(size)

    assert _run_threads(admit, read, read) == []
    assert seen_sizes, "the readers never ran"
    reference = si.Pool(_texts(50, 0), threads=1)
    for batch in batches:
        reference.admit(batch)
    assert pool.texts == reference.texts


def test_two_writers_keep_indices_and_texts_together() -> None:
    pool = si.Pool(threads=2)
    results: dict[int, list[tuple[list[str], si.AdmitResult]]] = {0: [], 1: []}

    def writer(which: int) -> None:
        for seed in range(3):
            batch = [f"{text} t{which}" for text in _texts(1200, 100 * which + seed)]
            results[which].append((batch, pool.admit(batch)))

    assert _run_threads(lambda: writer(0), lambda: writer(1)) == []
    admitted = 0
    for runs in results.values():
        for batch, result in runs:
            for position, decision in enumerate(result):
                if decision.admitted:
                    admitted += 1
                    assert pool[decision.index] == batch[position]
    assert admitted == len(pool)
    # Greedy validity of the final pool: no pair above the threshold.
    matrix = si.cdist(pool.texts, pool.texts)
    np.fill_diagonal(matrix, 0.0)
    assert matrix.max() <= 0.7


def test_replacing_list_items_during_admit_changes_nothing() -> None:
    batch = _texts(6000, 7)
    original = list(batch)
    stop = threading.Event()
    pool = si.Pool(threads=2)
    outcome: list[si.AdmitResult] = []

    def mutate() -> None:
        rng = random.Random(1)
        while not stop.is_set():
            position = rng.randrange(len(batch))
            batch[position] = "x" * rng.randint(0, 50) + str(rng.random())

    def admit() -> None:
        try:
            outcome.append(pool.admit(batch))
        finally:
            stop.set()

    # The snapshot is taken when the call starts; start mutating right after.
    assert _run_threads(admit, mutate) == []
    admitted_texts = pool.texts
    for text in admitted_texts:
        assert isinstance(text, str)
    # Whatever the interleaving, the pool is a valid greedy pool over the texts it holds.
    matrix = si.cdist(admitted_texts, admitted_texts)
    np.fill_diagonal(matrix, 0.0)
    assert matrix.max() <= 0.7
    # And with no mutation, the same input gives the single-threaded decisions.
    quiet = si.Pool(threads=2)
    reference = si.Pool(threads=1)
    assert list(quiet.admit(original).index) == list(reference.admit(original).index)


def test_truncate_during_reads_raises_cleanly() -> None:
    pool = si.Pool(_texts(3000, 3), threads=1)
    done = threading.Event()

    def shrink() -> None:
        try:
            for size in range(3000, 0, -150):
                pool.truncate(size)
        finally:
            done.set()

    def read() -> None:
        while not done.is_set():
            for index, _ in pool.most_similar("w1 w2 w3", 3):
                try:
                    pool[index]
                    pool.texts_at([index, 0])
                except IndexError:
                    pass  # truncated in between: an error, never a crash or a wrong text

    assert _run_threads(shrink, read) == []


def test_scores_limit_is_a_prefix() -> None:
    texts = _texts(200, 11)
    pool = si.Pool(texts)
    full = pool.scores("w1 w2 w3 w9")
    assert len(full) == 200
    assert np.array_equal(pool.scores("w1 w2 w3 w9", limit=50), full[:50])
    assert len(pool.scores("w1", limit=10_000)) == 200
    assert pool.avg_similarity("w1 w2", limit=0) == 0.0
    with pytest.raises(ValueError):
        pool.scores("w1", limit=-1)


def test_failed_thread_start_raises_instead_of_aborting() -> None:
    # Under a small address-space limit, 500 thread stacks cannot be mapped.
    script = textwrap.dedent(
        """
        import resource
        import selfinstruct as si
        texts = [f"w{i} w{i+1} w{i+2}" for i in range(2000)]
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        try:
            si.cdist(texts, texts, threads=500)
        except (RuntimeError, MemoryError) as error:
            print("raised", type(error).__name__)
        else:
            print("ran")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] in {"raised RuntimeError", "raised MemoryError", "ran"}


def test_thread_counts_are_bounded() -> None:
    with pytest.raises(ValueError, match="threads"):
        si.cdist(["a"], ["a"], threads=2_147_483_648)
    with pytest.raises(ValueError, match="threads"):
        si.Pool(threads=5000)


def test_long_text_memory_is_linear() -> None:
    # 2 * 10^5 distinct tokens against a short text: once 6.5 GB, now a few MB of masks.
    script = textwrap.dedent(
        """
        import resource
        import selfinstruct as si
        long_text = " ".join(f"w{i}" for i in range(200000))
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        print(si.rouge_l(long_text, "w1 w2 w3"), si.rouge_l("w1 w2 w3", long_text))
        print(si.cdist([long_text], ["w1 w2 w3", long_text])[0, 1])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    first, second = lines[-2].split()
    assert float(first) == float(second) > 0
    assert float(lines[-1]) == 1.0


def test_pools_freed_in_other_threads_while_others_admit() -> None:
    """A pool's memory is freed without the GIL (its destructor releases it): pools dropped in
    worker threads while other threads admit and read leave every decision unchanged."""
    texts = _texts(3000, 11)
    expected = si.Pool(threads=2).admit(texts).index

    def admit_and_drop() -> None:
        for _ in range(3):
            pool = si.Pool(threads=2)
            assert np.array_equal(pool.admit(texts).index, expected)
            assert len(pool) == int((expected >= 0).sum())
            del pool  # the last reference: freed in this thread

    errors = _run_threads(*[admit_and_drop] * 4)
    assert not errors, errors
