"""The ratings store: every rating appended as a whole line and fsynced, replayed on reopening, a torn
last line tolerated, anything else that is bad reported with file and line."""
from __future__ import annotations

import json
import threading

import pytest

from selfinstruct.records import RecordError
from selfinstruct.rate.store import RatingStore, latest_ratings, read_ratings


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_rating_is_one_line_and_replays(tmp_path):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path) as store:
        store.add("alice", "task_0", "m1", "A")
        store.add("bob", "task_0", "m1", "C")
        store.add("alice", "task_0", "m1", "B")  # a re-rating is a new line; the last one counts
        assert store.rating_of("alice", "task_0", "m1") == "B"
    written = lines(path)
    assert [(r["rater"], r["item"], r["model"], r["rating"]) for r in written] == [
        ("alice", "task_0", "m1", "A"), ("bob", "task_0", "m1", "C"), ("alice", "task_0", "m1", "B")]
    assert all(set(r) == {"rater", "item", "model", "rating", "time"} for r in written)
    assert written[0]["time"].endswith("+00:00")
    with RatingStore(path) as store:  # resume = replay
        assert store.rating_of("alice", "task_0", "m1") == "B"
        assert store.rating_of("bob", "task_0", "m1") == "C"
        assert store.rating_of("carol", "task_0", "m1") is None
        assert len(store.ratings()) == 3
        store.add("carol", "task_1", "m2", "D")
    assert latest_ratings(read_ratings(path)) == {
        ("alice", "task_0", "m1"): "B", ("bob", "task_0", "m1"): "C", ("carol", "task_1", "m2"): "D"}


def test_torn_last_line_is_removed_on_reopening(tmp_path):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path) as store:
        store.add("alice", "task_0", "m1", "A")
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"rater": "alice", "item": "task_1", "mo')  # a write cut short by a crash
    assert len(read_ratings(path)) == 1  # reading alone tolerates it and changes nothing
    assert path.read_bytes().endswith(b'"mo')
    with RatingStore(path) as store:
        assert len(store.ratings()) == 1
        store.add("alice", "task_1", "m1", "D")  # lands on a line of its own
    assert [r["rating"] for r in lines(path)] == ["A", "D"]


def test_whole_last_line_without_newline_is_kept(tmp_path):
    path = tmp_path / "ratings.jsonl"
    record = {"rater": "alice", "item": "task_0", "model": "m1", "rating": "C", "time": "2026-01-01T00:00:00+00:00"}
    path.write_text(json.dumps(record), encoding="utf-8")
    with RatingStore(path) as store:
        assert store.rating_of("alice", "task_0", "m1") == "C"
        store.add("alice", "task_1", "m1", "B")
    assert [r["rating"] for r in lines(path)] == ["C", "B"]


@pytest.mark.parametrize("bad, message", [
    ("{not json", "malformed rating line"),
    ('{"rater": "alice", "item": "t", "model": "m", "rating": "E", "time": "x"}', "bad rating 'E'"),
    ('{"rater": "a/b", "item": "t", "model": "m", "rating": "A", "time": "x"}', "bad rater name"),
    ('{"rater": "alice", "model": "m", "rating": "A", "time": "x"}', "'item' missing"),
    ("[1, 2]", "expected a JSON object"),
])
def test_a_bad_complete_line_is_an_error_with_file_and_line(tmp_path, bad, message):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path) as store:
        store.add("alice", "task_0", "m1", "A")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(bad + "\n")
    with pytest.raises(RecordError, match=f"ratings.jsonl:2: .*{message}"):
        RatingStore(path)
    with pytest.raises(RecordError, match="ratings.jsonl:2: "):
        read_ratings(path)


def test_bad_ratings_are_refused_before_writing(tmp_path):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path) as store:
        with pytest.raises(ValueError, match="bad rating"):
            store.add("alice", "task_0", "m1", "a")
        with pytest.raises(ValueError, match="bad rater name"):
            store.add("../alice", "task_0", "m1", "A")
    assert path.read_bytes() == b""


def test_one_server_per_file(tmp_path):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path):
        with pytest.raises(RuntimeError, match="in use by another rating server"):
            RatingStore(path)
    RatingStore(path).close()  # free again once the first store is closed


def test_closed_store_refuses_ratings(tmp_path):
    store = RatingStore(tmp_path / "ratings.jsonl")
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.add("alice", "task_0", "m1", "A")


def test_concurrent_ratings_stay_whole_lines(tmp_path):
    path = tmp_path / "ratings.jsonl"
    with RatingStore(path) as store:
        def rate(rater):
            for index in range(40):
                store.add(rater, f"task_{index}", "m1", "ABCD"[index % 4])
        threads = [threading.Thread(target=rate, args=(f"rater{n}",)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(store.ratings()) == 240
    written = read_ratings(path)
    assert len(written) == 240 and len(latest_ratings(written)) == 240
