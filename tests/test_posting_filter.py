"""The probe's posting filters: the scalar loop and the 16-lane AVX-512 copy keep the same postings.

A posting may belong to a match only if its partner length is in range, its entry was indexed
before the probe's cut-off, both sides' prefix positions leave room for the overlap the length
needs, and neither folded sketch has more bits of its own than the overlap allows. These tests
restate that in Python and hold both filters to it, then run admission with the wide filter off
and on. (On a CPU without AVX-512 only the scalar filter exists: the wide one is then compared
with nothing, and admission runs the scalar filter both times.)
"""
from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

import selfinstruct as si
from selfinstruct import _core

from test_pool import decisions_of, near_duplicate_stream, zipf_stream

WIDE = _core._wide_posting_filter_available()



@st.composite
def filter_cases(draw):
    """A candidate's side of the bounds, and postings near them: most conditions hold for most
    postings, so each one decides now and then (edges included: need equal to the room, a
    position that just fits, sketches a bit or two apart)."""
    first = draw(st.integers(0, 30))
    need_of = draw(st.lists(st.integers(0, 12), min_size=1, max_size=48))  # spans past 32 use a gather
    span = len(need_of) - 1
    folded = draw(st.integers(0, 2**32 - 1))
    case = {
        "first": first,
        "need_of": need_of,
        "to": draw(st.integers(0, 60) | st.just(2**32) | st.integers(2**32 - 3, 2**33)),
        "probe_room": draw(st.integers(0, 16)),
        "slack": draw(st.integers(0, 1)),
        "n": draw(st.integers(0, 30)),
        "folded": folded,
    }
    posting = st.tuples(
        st.integers(0, 60) | st.integers(2**32 - 3, 2**32 - 1),
        st.integers(max(0, first - 2), first + span + 2) | st.integers(0, 2**16 - 1),
        st.integers(0, 16) | st.integers(2**16 - 2, 2**16 - 1),
        st.lists(st.integers(0, 31), max_size=4).map(lambda bits: folded ^ sum(1 << b for b in set(bits))),
    )
    case["postings"] = draw(st.lists(posting, max_size=70))  # several rounds of 16 lanes, and a partial one
    return case


def expected_filter(postings, first, need_of, to, probe_room, slack, n, folded):
    span = len(need_of) - 1
    kept, examined = [], 0
    for entry, m, position, sketch in postings:
        earlier = entry < to
        examined += earlier
        if not earlier or not first <= m <= first + span:
            continue
        need = need_of[m - first]
        ours_only = bin(folded & ~sketch).count("1")
        theirs_only = bin(sketch & ~folded).count("1")
        if need <= probe_room and position + need <= m + slack and ours_only + need <= n and theirs_only + need <= m:
            kept.append(entry)
    return sorted(kept), examined


@settings(max_examples=600)
@given(filter_cases())
def test_both_filters_keep_what_the_bounds_allow(case):
    arguments = (case["postings"], case["first"], case["need_of"], case["to"], case["probe_room"], case["slack"],
                 case["n"], case["folded"])
    expected = expected_filter(*arguments)
    kept, examined = _core._filter_postings(*arguments, wide=False)
    assert (sorted(kept), examined) == expected
    if WIDE:
        kept, examined = _core._filter_postings(*arguments, wide=True)
        assert (sorted(kept), examined) == expected


@contextlib.contextmanager
def wide_filter(on: bool):
    previous = _core._enable_wide_posting_filter(on)
    try:
        yield
    finally:
        _core._enable_wide_posting_filter(previous)


def admitted_with(stream: list[str], wide: bool, threads: int):
    with wide_filter(wide):
        pool = si.Pool(threads=threads)
        got = []
        for start in range(0, len(stream), 7000):
            got.extend(decisions_of(pool.admit(stream[start : start + 7000])))
        return got, pool.stats()


def test_admission_decides_alike_with_either_filter():
    # One thread reads the same postings with either filter, so even the counters agree. (With
    # two, which candidates of a dense cluster give up listing their matches depends on timing.)
    rng = random.Random(59)
    streams = [zipf_stream(rng, 30_000), near_duplicate_stream(rng, 6000, bases=2000, max_len=60)]
    for stream in streams:
        scalar = admitted_with(stream, wide=False, threads=1)
        assert scalar == admitted_with(stream, wide=True, threads=1)
        assert scalar[1]["pairs_probed"] > 0
        assert admitted_with(stream, wide=True, threads=2)[0] == scalar[0]


def test_the_wide_filter_is_refused_where_the_cpu_lacks_it():
    if WIDE:
        assert _core._enable_wide_posting_filter(True) is True  # on by default where available
    else:
        assert _core._enable_wide_posting_filter(True) is False
        assert _core._enable_wide_posting_filter(True) is False  # asking does not turn it on
