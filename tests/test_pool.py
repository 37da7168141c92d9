"""Pool admission equals the one-at-a-time rouge-score loop, for any thread count and batch size."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import _thread

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import selfinstruct as si
from selfinstruct import _core

from reference import reference_admission

VOCAB = [f"w{i}" for i in range(30)] + ["Write", "a", "poem", "about", "the", "sea", "café", "中文"]


def near_duplicate_stream(rng: random.Random, count: int, bases: int = 12, max_len: int = 18) -> list[str]:
    """Texts in bursts of small edits of a few bases, like a small LLM repeating itself."""
    roots = [[rng.choice(VOCAB) for _ in range(rng.randint(0, max_len))] for _ in range(bases)]
    out = []
    for _ in range(count):
        words = list(rng.choice(roots))
        for _ in range(rng.randint(0, 3)):
            action = rng.random()
            if words and action < 0.4:
                words[rng.randrange(len(words))] = rng.choice(VOCAB)
            elif action < 0.7:
                words.insert(rng.randint(0, len(words)), rng.choice(VOCAB))
            elif words:
                del words[rng.randrange(len(words))]
        out.append(" ".join(words))
    return out


def decisions_of(result: si.AdmitResult):
    return [(d.admitted, d.index if d.admitted else d.best_index, d.best_score) for d in result]


@given(st.randoms(use_true_random=False), st.sampled_from([0.7, 0.5, 0.0, 0.9, 1.0]))
def test_admit_equals_reference_loop(reference_scorer, rng, threshold):
    seeds = near_duplicate_stream(rng, rng.randint(0, 5))
    stream = near_duplicate_stream(rng, 60)
    expected = reference_admission(reference_scorer, stream, threshold, seeds)
    pool = si.Pool(seeds, threshold=threshold, threads=rng.choice([1, 2, 3]))
    assert decisions_of(pool.admit(stream)) == expected


@pytest.mark.parametrize("threshold", [0.3, 0.7, 0.95])
def test_long_texts_admission(reference_scorer, threshold):
    # Lengths on both sides of the pair-indexed / single-indexed boundary and of 64 and 128 tokens.
    rng = random.Random(7)
    stream = near_duplicate_stream(rng, 40, bases=5, max_len=150)
    expected = reference_admission(reference_scorer, stream, threshold)
    assert decisions_of(si.Pool(threshold=threshold).admit(stream)) == expected


def test_invariant_to_threads_and_batches():
    rng = random.Random(11)
    stream = near_duplicate_stream(rng, 5000, bases=300)
    reference = si.Pool(threads=1)
    expected = decisions_of(reference.admit(stream))
    for threads in (2, 4):
        for batch in (1, 7, 1000, 5000):
            pool = si.Pool(threads=threads)
            got = []
            for start in range(0, len(stream), batch):
                got.extend(decisions_of(pool.admit(stream[start : start + batch])))
            assert got == expected, (threads, batch)
            assert pool.texts == reference.texts


def admitted_in_pieces_and_at_once(stream: list[str], piece: int) -> tuple[si.Pool, list, list]:
    one = si.Pool(threads=1)
    all_at_once = decisions_of(one.admit(stream))
    two = si.Pool(threads=2)
    pieces = []
    for start in range(0, len(stream), piece):
        pieces.extend(decisions_of(two.admit(stream[start : start + piece])))
    return one, all_at_once, pieces


def test_large_stream_crosses_chunks_and_keeps_a_ranking_that_is_not_stale():
    # > 16384 candidates: several chunks. The vocabulary stays the same throughout, so the token
    # ranking counted at the start stays good and the index is not rebuilt as the pool grows.
    rng = random.Random(5)
    stream = near_duplicate_stream(rng, 40_000, bases=4000, max_len=12)
    one, all_at_once, pieces = admitted_in_pieces_and_at_once(stream, 333)
    assert pieces == all_at_once
    assert one.stats()["index_builds"] == 1


def test_tokens_are_ranked_again_when_the_vocabulary_drifts():
    # Words seen once at first and frequent later: the first ranking calls them rare (the most
    # frequent of them the rarest: it was seen last), so prefixes fill with frequent words until
    # the index is rebuilt with fresh ranks. Decisions are the same whenever (and however often)
    # that happens.
    rng = random.Random(6)
    drifting = [f"z{i}" for i in range(200)]
    weights = [1 / (i + 1) for i in range(len(drifting))]
    seen_once = drifting[::-1]
    early = near_duplicate_stream(rng, 20_000, bases=3000, max_len=12) + [" ".join(seen_once[i : i + 10]) for i in range(0, 200, 10)]
    late = [" ".join(rng.choices(drifting, weights, k=rng.randint(4, 14))) for _ in range(30_000)]
    stream = early + late
    one, all_at_once, pieces = admitted_in_pieces_and_at_once(stream, 333)
    assert pieces == all_at_once
    assert one.stats()["index_builds"] >= 2


def zipf_stream(rng: random.Random, count: int, vocabulary: int = 20_000) -> list[str]:
    """Texts of 5-25 words from a Zipf vocabulary, a third of them small edits of a recent text."""
    words = [f"t{i}" for i in range(vocabulary)]
    cumulative = list(np.cumsum(1.0 / np.arange(1, vocabulary + 1)))
    out: list[str] = []
    for _ in range(count):
        if len(out) > 50 and rng.random() < 0.35:
            text = out[-rng.randint(1, 50)].split()
            text[rng.randrange(len(text))] = rng.choices(words, cum_weights=cumulative)[0]
        else:
            text = rng.choices(words, cum_weights=cumulative, k=rng.randint(5, 25))
        out.append(" ".join(text))
    return out


def test_a_stream_whose_index_moves_its_memory_decides_like_brute_force_on_a_sample():
    # 200,000 candidates: the index's posting arenas, and the pool's token ids, elements and
    # texts, pass 2 MiB, where growing moves their pages to a larger mapping instead of copying
    # them. Sampled decisions are checked against every text kept before them (pool.texts, read
    # back from the moved text store) with the pair kernel.
    rng = random.Random(7)
    stream = zipf_stream(rng, 200_000)
    pool = si.Pool(threads=2)
    decisions = []
    for start in range(0, len(stream), 20_000):
        decisions.extend(decisions_of(pool.admit(stream[start : start + 20_000])))
    kept_before = np.cumsum([0] + [admitted for admitted, _, _ in decisions])
    kept = pool.texts
    sample = sorted(rng.sample(range(len(stream)), 300))
    scores = si.cdist([stream[i] for i in sample], kept, threads=2)
    for row, i in zip(scores, sample):
        earlier = row[: kept_before[i]]
        admitted, index, score = decisions[i]
        if earlier.size == 0 or earlier.max() <= 0.7:
            assert admitted, i
        else:
            assert not admitted and index == int(np.argmax(earlier)) and score == earlier.max(), i


def test_rare_elements_published_alone_decide_like_brute_force():
    # One first call of 16,384 candidates ranks the tokens: the "b" words it counted once are
    # rare. Pair-indexed entries publish their rare prefix elements alone and only the pairs that
    # start with other elements, and probes look them up the same way. Here most prefix elements
    # of the later texts are rare, and their edits (with words the ranking never saw, which are
    # not rare) arrive in later calls, so a match is found through the rare elements' lists or
    # not at all; or in the same call, where the chunk's join must find it the same way.
    rng = random.Random(11)
    common = [f"a{i}" for i in range(300)]
    pool = si.Pool(threads=2)
    pool.admit([f"{text} b{3 * i} b{3 * i + 1} b{3 * i + 2}" for i, text in enumerate(zipf_stream(rng, 16_384, vocabulary=30_000))])
    bases = [" ".join(f"b{rng.randrange(24_000)}" if rng.random() < 0.6 else rng.choice(common)
                      for _ in range(rng.randint(6, 16))) for _ in range(2_000)]
    edits = []
    for base in bases:
        words = base.split()
        for _ in range(rng.randint(1, 2)):
            words[rng.randrange(len(words))] = rng.choice(common) if rng.random() < 0.5 else f"c{rng.randrange(50_000)}"
        edits.append(" ".join(words))
    rng.shuffle(edits)
    # Then texts and their edits in one call: those matches are found by the chunk's join.
    together = []
    for _ in range(1_500):
        words = [f"b{24_000 + rng.randrange(24_000)}" if rng.random() < 0.6 else rng.choice(common) for _ in range(rng.randint(6, 16))]
        together.append(" ".join(words))
        words[rng.randrange(len(words))] = f"e{rng.randrange(50_000)}"
        together.insert(rng.randrange(len(together) - 10, len(together) + 1) if len(together) > 10 else len(together), " ".join(words))
    first_later = len(pool)
    later = bases + edits + together
    decisions = decisions_of(pool.admit(bases))
    for start in range(0, len(edits), 700):
        decisions.extend(decisions_of(pool.admit(edits[start : start + 700])))
    decisions.extend(decisions_of(pool.admit(together)))
    kept_before = first_later + np.cumsum([0] + [admitted for admitted, _, _ in decisions])
    scores = si.cdist(later, pool.texts, threads=2)
    rejected = 0
    for i, (row, (admitted, index, score)) in enumerate(zip(scores, decisions)):
        earlier = row[: kept_before[i]]
        if earlier.max() <= 0.7:
            assert admitted, i
        else:
            rejected += 1
            assert not admitted and index == int(np.argmax(earlier)) and score == earlier.max(), i
    assert rejected > 2_000  # most edits match their base


def test_rare_tokens_that_grow_frequent_rebuild_the_index():
    # Tokens the first ranking saw once are rare; when the next call uses them hundreds of times,
    # their lists would grow long, so the ranking check rebuilds the index (with fresh counts),
    # although the token order it has is still right (the "r" tokens stay rarer than the others,
    # which make every prefix the same under both rankings).
    rng = random.Random(5)
    common = [f"a{i}" for i in range(100)]
    first = [" ".join(rng.choice(common) for _ in range(rng.randint(6, 14))) + f" r{i}" for i in range(16_384)]
    later = [" ".join([f"r{rng.randrange(40)}", f"r{rng.randrange(40)}"] + [rng.choice(common) for _ in range(rng.randint(4, 12))])
             for _ in range(10_000)]
    pool = si.Pool(threads=2)
    decisions = decisions_of(pool.admit(first))
    assert pool.stats()["index_builds"] == 1
    decisions += decisions_of(pool.admit(later))
    assert pool.stats()["index_builds"] == 2
    stream = first + later
    kept_before = np.cumsum([0] + [admitted for admitted, _, _ in decisions])
    sample = sorted(rng.sample(range(len(first), len(stream)), 300))
    scores = si.cdist([stream[i] for i in sample], pool.texts, threads=2)
    for row, i in zip(scores, sample):
        earlier = row[: kept_before[i]]
        admitted, index, score = decisions[i]
        if earlier.max() <= 0.7:
            assert admitted, i
        else:
            assert not admitted and index == int(np.argmax(earlier)) and score == earlier.max(), i


HUGE_PAGE_CHILD = """
import hashlib, json, sys
import numpy as np
import selfinstruct as si
stream = json.load(open(sys.argv[1], encoding="utf-8"))
pool = si.Pool(threads=2)
digest = hashlib.sha256()
for start in range(0, len(stream), 20_000):
    result = pool.admit(stream[start : start + 20_000])
    for array in (result.index, result.best_index, result.best_score):
        digest.update(np.ascontiguousarray(array).tobytes())
try:  # mappings marked for huge pages (VmFlags "hg"), where the kernel reports them
    with open("/proc/self/smaps", encoding="ascii") as smaps:
        marked = sum(1 for line in smaps if line.startswith("VmFlags:") and " hg" in line)
except OSError:
    marked = -1
print(len(pool), digest.hexdigest(), marked)
"""


def test_transparent_huge_pages_on_request_decide_alike(tmp_path):
    # SELFINSTRUCT_HUGE_PAGES=1 marks the index's large mappings for huge pages (off by default,
    # docs/admission_index.md); a stream whose arenas pass 2 MiB decides the same either way.
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(zipf_stream(random.Random(11), 200_000)), encoding="utf-8")
    outcomes = []
    for setting in ("0", "1"):
        env = dict(os.environ, SELFINSTRUCT_HUGE_PAGES=setting)
        done = subprocess.run([sys.executable, "-c", HUGE_PAGE_CHILD, str(path)], env=env,
                              capture_output=True, text=True, check=True)
        outcomes.append(done.stdout.split())
    (size, decided, marked_off), (size_on, decided_on, marked_on) = outcomes
    assert (size, decided) == (size_on, decided_on) and int(size) > 100_000
    if int(marked_off) >= 0:  # (Linux) nothing is marked by default, the index's mappings are on request
        assert int(marked_off) == 0
        if os.path.exists("/sys/kernel/mm/transparent_hugepage"):
            assert int(marked_on) > 0


def brute_force_admission(stream: list[str], threshold: float) -> list[tuple]:
    """Greedy admission from the all-pairs F matrix (the pair kernel, no index)."""
    scores = si.cdist(stream, stream, threads=2)
    admitted: list[int] = []
    decisions = []
    for i, row in enumerate(scores):
        if admitted:
            against = row[admitted]
            best = int(np.argmax(against))  # first (lowest pool index) among equal maxima
            if against[best] > threshold:
                decisions.append((False, best, float(against[best])))
                continue
        decisions.append((True, len(admitted), None))
        admitted.append(i)
    return decisions


@pytest.mark.parametrize("threshold", [0.7, 0.5])
def test_index_built_in_parallel_equals_brute_force(threshold):
    # Thousands of entries: the index is rebuilt and committed in parallel shards (batches of
    # 2,048 entries and more), and candidates of many lengths probe every length class.
    rng = random.Random(23)
    stream = near_duplicate_stream(rng, 4500, bases=2600, max_len=40)
    expected = brute_force_admission(stream, threshold)
    for threads, batch in ((2, 4500), (3, 1700), (1, 4500)):
        pool = si.Pool(threshold=threshold, threads=threads)
        got = []
        for start in range(0, len(stream), batch):
            got.extend(decisions_of(pool.admit(stream[start : start + batch])))
        assert got == expected, (threads, batch)
    assert sum(admitted for admitted, _, _ in expected) > 2048


@pytest.mark.parametrize(("threshold", "count", "max_len"), [(0.7, 2500, 30), (0.3, 2500, 30), (0.7, 1200, 200)])
def test_dense_clusters_within_a_chunk_equal_brute_force(threshold, count, max_len):
    # Thousands of small edits of three texts in one batch: most candidates match hundreds of
    # earlier ones in their chunk, too many to list, and are decided against the chunk's
    # admitted candidates instead. Exact copies among them too. Short texts exceed the posting
    # budget; long ones (read by direct visits) the budget of exact overlap counts.
    rng = random.Random(31)
    stream = near_duplicate_stream(rng, count, bases=3, max_len=max_len)
    stream += stream[:300]
    expected = brute_force_admission(stream, threshold)
    for threads in (1, 2):
        pool = si.Pool(threshold=threshold, threads=threads)
        assert decisions_of(pool.admit(stream)) == expected, threads
        assert pool.stats()["dense_candidates"] > count // 3


def test_truncate_after_long_pair_lists_equals_a_fresh_pool():
    # A small vocabulary makes word pairs frequent: their lists grow past the split point and are
    # split by entry length. Truncating must unlink the dropped entries from those lists too.
    rng = random.Random(41)
    stream = near_duplicate_stream(rng, 9000, bases=3000, max_len=14)
    first, dropped, later = stream[:4000], stream[4000:7000], stream[7000:]
    pool = si.Pool(threads=2)
    pool.admit(first)
    kept = len(pool)
    pool.admit(dropped[:2000])
    pool.admit(dropped[2000:])  # indexes the entries admitted by the previous call
    pool.truncate(kept)
    fresh = si.Pool(threads=2)
    fresh.admit(first)
    assert decisions_of(pool.admit(later)) == decisions_of(fresh.admit(later))
    assert pool.texts == fresh.texts


def test_candidates_that_match_the_pool_still_list_their_chunk_matches():
    # Within a chunk, matches are found by joining the candidates' pair signatures. Candidates
    # that already match a pool entry take part only as probers: a later admitted candidate of
    # their chunk with a strictly higher F becomes their best match. Exact copies of pool entries
    # take no part. Texts of 5-60 words: pair- and single-indexed candidates meet in one chunk.
    rng = random.Random(47)
    first = zipf_stream(rng, 3000, vocabulary=3000)
    later: list[str] = []
    for _ in range(5000):
        pick = rng.random()
        if pick < 0.3:
            words = rng.choice(first).split()  # near a pool entry ...
            words[rng.randrange(len(words))] = f"t{rng.randrange(3000)}"
            later.append(" ".join(words))
        elif pick < 0.4:
            later.append(rng.choice(first))  # ... or a copy of one
        elif pick < 0.7 and later:
            words = later[-rng.randint(1, min(40, len(later)))].split()  # near an earlier candidate
            words.insert(rng.randrange(len(words) + 1), f"t{rng.randrange(3000)}")
            later.append(" ".join(words))
        else:
            later.append(" ".join(f"t{rng.randrange(3000)}" for _ in range(rng.choice([5, 8, 12, 30, 45, 60]))))
    expected = brute_force_admission(first + later, 0.7)
    for threads in (1, 2):
        pool = si.Pool(threads=threads)
        got = decisions_of(pool.admit(first)) + decisions_of(pool.admit(later))
        assert got == expected, threads
    # The case that matters: a pool entry matches, and a chunk candidate matches better.
    pool_size = sum(admitted for admitted, _, _ in expected[: len(first)])
    best_in_chunk = [i for i, d in enumerate(expected[len(first):]) if not d[0] and d[1] >= pool_size]
    kept_first = [t for t, d in zip(first, expected) if d[0]]
    against_pool = si.cdist([later[i] for i in best_in_chunk], kept_first, threads=2).max(axis=1)
    assert int((against_pool > 0.7).sum()) >= 5


def shuffled_stream(rng: random.Random, count: int, words: int, lengths: tuple[int, int]) -> list[str]:
    """Texts of a few words drawn in any order: most pass the threshold, so every word pair is frequent."""
    vocabulary = VOCAB[:words]
    return [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(*lengths))) for _ in range(count)]


def test_lists_sorted_by_length_and_position_decide_and_truncate_like_brute_force():
    # Pair lists are kept sorted by entry length and split lists by prefix position, and a probe
    # reads only the part its bounds allow. Here every pair list holds hundreds or thousands of
    # postings, so inserts and truncation move runs of postings, not single ones.
    rng = random.Random(43)
    stream = shuffled_stream(rng, 9000, words=16, lengths=(3, 11))
    first, dropped, later = stream[:4000], stream[4000:7000], stream[7000:]
    pool = si.Pool(threads=2)
    got = decisions_of(pool.admit(first))
    assert pool.stats()["pairs_probed"] > 500 * len(first)  # long lists
    kept = len(pool)
    pool.admit(dropped[:1500])
    pool.admit(dropped[1500:])
    pool.truncate(kept)
    got += decisions_of(pool.admit(later))
    assert got == brute_force_admission(first + later, 0.7)


def test_seeds_and_pool_access():
    pool = si.Pool(["Write a poem about the sea"], threshold=0.7)
    result = pool.admit(["write a poem about the sea!", "Tell me a joke about cats"])
    assert [d.admitted for d in result] == [False, True]
    assert result[0].best_index == 0 and result[0].best_score == 1.0
    assert result[1].index == 1 and result[1].best_score is None
    assert len(pool) == 2 and pool[1] == "Tell me a joke about cats"
    assert pool.most_similar("a poem about the sea", k=1)[0][0] == 0
    assert pool.scores("Tell me a joke").shape == (2,)
    assert 0 < pool.avg_similarity("a poem") < 1
    pool.truncate(1)
    assert len(pool) == 1 and pool.admit(["Tell me a joke about cats"]).num_admitted == 1


def test_most_similar_matches_top_k():
    rng = random.Random(2)
    texts = near_duplicate_stream(rng, 200, bases=50)
    pool = si.Pool(texts=texts)
    query = texts[17]
    assert pool.most_similar(query, k=10) == si.top_k([query], texts, k=10)[0]


def test_ctrl_c_rolls_back_and_raises():
    # A simulated Ctrl-C during admission must stop it, propagate, and leave the pool as it was.
    # The SIGINT handler raises only while admit() runs, so a late signal cannot escape the test.
    class Interrupted(Exception):
        pass

    admitting = threading.Event()

    def on_sigint(signum, frame):
        if admitting.is_set():
            raise Interrupted

    rng = random.Random(9)
    stream = [" ".join(rng.choice(VOCAB) for _ in range(8)) + f" u{i}" for i in range(400_000)]
    pool = si.Pool(["seed one two three"], threads=2)
    previous = signal.signal(signal.SIGINT, on_sigint)
    timer = threading.Timer(0.05, _thread.interrupt_main)
    try:
        admitting.set()
        timer.start()
        try:
            pool.admit(stream)
        except Interrupted:
            interrupted = True
        else:
            interrupted = False
        finally:
            admitting.clear()
            timer.cancel()
            timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not interrupted:
        pytest.skip("the admission finished before the interrupt arrived")
    assert len(pool) == 1
    assert pool.admit(["a fresh candidate text"]).num_admitted == 1


@given(st.randoms(use_true_random=False), st.sampled_from([0.6, 0.7, 0.8]))
def test_admission_across_the_pair_index_boundary(reference_scorer, rng, threshold):
    # Entries of 25-50 tokens straddle the length where the index switches from element pairs to
    # single elements; candidates of both kinds must find partners of both kinds.
    stream = near_duplicate_stream(rng, 30, bases=6, max_len=50)
    stream = [text for text in stream if len(text.split()) >= 20] + near_duplicate_stream(rng, 20, bases=4, max_len=30)
    expected = reference_admission(reference_scorer, stream, threshold)
    assert decisions_of(si.Pool(threshold=threshold, threads=2).admit(stream)) == expected


def probes_singles_alone(threshold: float, n: int) -> bool:
    """Whether a text of n tokens is indexed by single elements alone (its 2-prefix is too long,
    or its overlap may be 1), as the pool decides it."""
    _, _, overlap = _core._bounds(threshold, n)
    return overlap is not None and overlap <= n and (overlap < 2 or n - overlap + 2 > 20)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
def test_single_indexed_candidates_find_the_pair_indexed_entries_that_can_match_them(threshold):
    # A pair-indexed entry publishes its single elements only if some single-indexed candidate
    # length (long texts, or lengths that may match on one token) can match its length. Entries
    # of every length up to past the first long single-indexed one, in the pool and in the
    # candidates' own chunk, then candidates that cut or extend them by a few tokens: decisions
    # as brute force's.
    rng = random.Random(int(threshold * 1000))
    longest = next(n for n in range(3, 2000) if n > 2 and probes_singles_alone(threshold, n)) + 4
    words = VOCAB[:40]
    bases = [[rng.choice(words) for _ in range(m)] for m in range(1, longest + 1) for _ in range(4)]
    rng.shuffle(bases)
    variants = []
    for base in bases:
        change = rng.randint(-3, 6)
        text = base[: len(base) + change] if change < 0 else base + [rng.choice(words) for _ in range(change)]
        variants.append(" ".join(text or base))
    pool_part = [" ".join(base) for base in bases[: len(bases) // 2]]
    chunk_part = [" ".join(base) for base in bases[len(bases) // 2 :]] + variants
    expected = brute_force_admission(pool_part + chunk_part, threshold)
    pool = si.Pool(threshold=threshold, threads=2)
    got = decisions_of(pool.admit(pool_part))
    in_pool = len(pool)
    got += decisions_of(pool.admit(chunk_part))
    assert got == expected
    # Single-indexed candidates of the chunk were rejected against pair-indexed entries, both
    # entries of the pool and candidates of their own chunk.
    stream = pool_part + chunk_part
    against = {
        index < in_pool
        for position, (admitted, index, _) in enumerate(got)
        if position >= len(pool_part) and not admitted
        and probes_singles_alone(threshold, len(stream[position].split()))
        and not probes_singles_alone(threshold, len(pool.texts[index].split()))
    }
    assert against == {True, False}


@pytest.mark.parametrize("threshold", [1e-9, 1e-6, 0.001, 0.01, 0.05])
def test_thresholds_near_zero(reference_scorer, threshold):
    rng = random.Random(int(threshold * 1e9) % 1000)
    stream = near_duplicate_stream(rng, 50, bases=6, max_len=30)
    stream += [" ".join(rng.choices(VOCAB, k=rng.randint(257, 330))) for _ in range(4)]
    expected = reference_admission(reference_scorer, stream, threshold)
    assert decisions_of(si.Pool(threshold=threshold, threads=2).admit(stream)) == expected


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
def test_texts_past_256_tokens(reference_scorer, threshold):
    # Past the cached length tables (256) and several LCS words, with shared long stretches.
    rng = random.Random(int(threshold * 100))
    vocabulary = [f"t{i}" for i in range(400)]
    bases = [[rng.choice(vocabulary) for _ in range(rng.randint(257, 420))] for _ in range(3)]
    stream = []
    for _ in range(12):
        words = list(rng.choice(bases))
        for _ in range(rng.randint(0, 120)):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        stream.append(" ".join(words))
    expected = reference_admission(reference_scorer, stream, threshold)
    assert decisions_of(si.Pool(threshold=threshold).admit(stream)) == expected


@given(st.lists(st.integers(0, 2**32 - 1), max_size=140), st.lists(st.integers(0, 2**32 - 1), max_size=140))
def test_lcs_with_token_ids_near_2_32(a, b):
    from selfinstruct import _core

    top = [2**32 - 1, 2**32 - 2, 2**32 - 3]
    a = [top[x % 3] if x % 2 else x for x in a]
    b = [top[x % 3] if x % 2 else x for x in b]
    assert _core._lcs(a, b) == _core._lcs_reference(a, b)


@pytest.mark.parametrize("seed", range(3))
def test_lcs_of_long_mostly_distinct_patterns(seed):
    # Past the dense mask budget the pattern keeps positions instead of one row per token.
    rng = random.Random(seed)
    a = [rng.randrange(20000) for _ in range(rng.randint(4000, 6000))]
    b = [rng.choice(a) if rng.random() < 0.6 else rng.randrange(20000) for _ in range(rng.randint(3000, 6000))]
    from selfinstruct import _core

    assert _core._lcs(a, b) == _core._lcs_reference(a, b)
    assert _core._lcs(b, a) == _core._lcs_reference(a, b)


def test_timings_split_admission_into_its_steps():
    pool = si.Pool(threads=2)
    steps = ["tokenize", "index", "pool_probe", "within_chunk", "decide"]
    assert pool.timings() == dict.fromkeys(steps, 0.0)
    texts = [f"write a story about item {i} and topic {i % 7}" for i in range(3000)]
    started = time.perf_counter()
    pool.admit(texts[:1500])
    pool.admit(texts[1500:])
    elapsed = time.perf_counter() - started
    timings = pool.timings()
    assert list(timings) == steps
    assert all(seconds > 0 for seconds in timings.values())  # every step ran, the pool was probed in the second call
    assert sum(timings.values()) <= elapsed
    pool.add(["not an admission"])
    assert pool.timings() == timings


def test_texts_at_reads_many_texts_at_once():
    pool = si.Pool(["zero", "one two", "three four five"])
    assert pool.texts_at([2, 0, -1, 0]) == ["three four five", "zero", "three four five", "zero"]
    assert pool.texts_at(np.array([1], dtype=np.int32)) == ["one two"] and pool.texts_at([]) == []
    with pytest.raises(IndexError, match="pool index 3 out of range"):
        pool.texts_at([0, 3])
    with pytest.raises(IndexError, match="pool index -4 out of range"):
        pool.texts_at([-4])
    assert [pool[i] for i in (2, 0, -1, -3)] == pool.texts_at([2, 0, -1, -3])  # the same positions one by one
    for outside in (3, -4):
        with pytest.raises(IndexError, match="pool index out of range"):
            pool[outside]
