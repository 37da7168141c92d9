"""The rating app's HTTP API through Flask's test client: blinding, per-rater order, resume, and a clear
4xx for every bad request, with nothing written for it."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("flask", reason="the rating server needs Flask (pip install 'selfinstruct[rate]')")

from rate_data import INSTRUCTIONS, MODELS, write_rating_data  # noqa: E402
from selfinstruct.rate import RatingSet, RatingStore, create_app, load_models  # noqa: E402
from selfinstruct.rate.predictions import parse_prediction_argument  # noqa: E402

TOKEN = "secret-token"


def load_rating_set(directory):
    instructions, paths = write_rating_data(directory)
    return RatingSet(load_models([parse_prediction_argument(str(p)) for p in paths], instructions))


@pytest.fixture()
def setup(tmp_path):
    rating_set = load_rating_set(tmp_path)
    results = tmp_path / "ratings.jsonl"
    store = RatingStore(results)
    yield create_app(rating_set, store, results_token=TOKEN).test_client(), rating_set, store, results
    store.close()


def post(client, rater, body, **kwargs):
    return client.post(f"/api/raters/{rater}/ratings", json=body, **kwargs)


def assert_blind(response):
    text = response.get_data(as_text=True)
    for model in MODELS:
        assert model not in text


def test_a_rating_round_trip_is_blind_and_resumes(setup, tmp_path):
    client, rating_set, store, results = setup
    page = client.get("/")
    assert page.status_code == 200 and "Valid and satisfying" in page.get_data(as_text=True)
    assert_blind(page)
    queue = client.get("/api/raters/alice/queue")
    assert_blind(queue)
    items = queue.get_json()["items"]
    assert len(items) == len(MODELS) * len(INSTRUCTIONS) and all(item["rating"] is None for item in items)
    first = items[0]["key"]
    shown = client.get(f"/api/items/{first}")
    assert_blind(shown)
    assert set(shown.get_json()) == {"key", "instruction", "input", "response"}
    answer = post(client, "alice", {"item": first, "rating": "B"})
    assert answer.status_code == 200 and answer.get_json() == {"item": first, "rating": "B"}
    assert_blind(answer)
    response = rating_set.response(first)
    [line] = results.read_text(encoding="utf-8").splitlines()
    assert {k: v for k, v in json.loads(line).items() if k != "time"} == {
        "rater": "alice", "item": response.item, "model": response.model, "rating": "B"}
    # A new server on the same file (new keys, same order) shows the rating where it was.
    store.close()
    with RatingStore(results) as reopened:
        fresh = load_rating_set(tmp_path)
        client = create_app(fresh, reopened).test_client()
        resumed = client.get("/api/raters/alice/queue").get_json()["items"]
        assert resumed[0]["rating"] == "B" and all(item["rating"] is None for item in resumed[1:])
        assert fresh.response(resumed[0]["key"]) == response
        assert resumed[0]["key"] != first  # keys are salted per server: they cannot be recomputed from names


def test_each_rater_has_an_own_fixed_order(setup):
    client, rating_set, _, _ = setup

    def order(rater):
        keys = [item["key"] for item in client.get(f"/api/raters/{rater}/queue").get_json()["items"]]
        return [(rating_set.response(key).item, rating_set.response(key).model) for key in keys]

    assert order("alice") == order("alice")
    assert sorted(order("alice")) == sorted(order("bob"))
    assert len({tuple(order(name)) for name in ("alice", "bob", "carol", "dave")}) > 1


@pytest.mark.parametrize("rater, body, status, message", [
    ("alice", {"item": "nope", "rating": "A"}, 404, "unknown item"),
    ("alice", {"item": "KEY", "rating": "E"}, 400, "bad rating 'E'"),
    ("alice", {"item": "KEY", "rating": "a"}, 400, "bad rating 'a'"),
    ("alice", {"item": "KEY", "rating": None}, 400, "bad rating None"),
    ("alice", {"item": "KEY"}, 400, "exactly the fields"),
    ("alice", {"item": "KEY", "rating": "A", "path": "/etc/passwd"}, 400, "exactly the fields"),
    ("alice", {"item": ["KEY"], "rating": "A"}, 400, "must be a string"),
    ("alice", ["KEY", "A"], 400, "JSON object"),
    (".alice", {"item": "KEY", "rating": "A"}, 400, "bad rater name"),
    ("a" * 41, {"item": "KEY", "rating": "A"}, 400, "bad rater name"),
    ("alice%00", {"item": "KEY", "rating": "A"}, 400, "bad rater name"),
])
def test_bad_ratings_get_a_clear_4xx_and_write_nothing(setup, rater, body, status, message):
    client, rating_set, _, results = setup
    key = client.get("/api/raters/alice/queue").get_json()["items"][0]["key"]
    if isinstance(body, dict):
        body = {k: (key if v == "KEY" else v) for k, v in body.items()}
    answer = post(client, rater, body)
    assert answer.status_code == status
    assert message in answer.get_json()["error"]
    assert results.read_bytes() == b""


def test_transport_errors(setup):
    client, _, _, results = setup
    oversized = client.post("/api/raters/alice/ratings", data="{" + " " * 10_000 + "}",
                            content_type="application/json")
    assert oversized.status_code == 413 and "too large" in oversized.get_json()["error"]
    form = client.post("/api/raters/alice/ratings", data={"item": "x", "rating": "A"})
    assert form.status_code == 415 and "JSON" in form.get_json()["error"]
    broken = client.post("/api/raters/alice/ratings", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert client.get("/api/raters/alice/ratings").status_code == 405
    assert client.get("/api/items/unknown").status_code == 404
    assert client.get("/api/raters/bad%2Fname/queue").status_code == 404
    assert client.get("/api/raters/-x/queue").status_code == 400
    assert results.read_bytes() == b""


def test_results_page_needs_the_token(setup):
    client, _, store, _ = setup
    pytest.importorskip("matplotlib", reason="the results figure needs matplotlib (pip install 'selfinstruct[rate]')")
    key = client.get("/api/raters/alice/queue").get_json()["items"][0]["key"]
    post(client, "alice", {"item": key, "rating": "A"})
    assert client.get("/results").status_code == 403
    assert client.get("/results?token=wrong").status_code == 403
    page = client.get(f"/results?token={TOKEN}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(model in text for model in MODELS) and "<svg" in text


def test_security_headers(setup):
    client, _, _, _ = setup
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_loopback_server_refuses_foreign_host_names(tmp_path):
    rating_set = load_rating_set(tmp_path)
    with RatingStore(tmp_path / "ratings.jsonl") as store:
        client = create_app(rating_set, store, allowed_hosts={"127.0.0.1", "localhost", "::1"}).test_client()
        assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/", headers={"Host": "[::1]:8000"}).status_code == 200
        rebound = client.get("/api/raters/alice/queue", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400 and "unexpected Host" in rebound.get_json()["error"]
        assert client.get("/", headers={"Host": "[bad"}).status_code == 400


def test_a_failed_write_is_reported_not_acknowledged(setup, monkeypatch):
    client, _, store, _ = setup
    key = client.get("/api/raters/alice/queue").get_json()["items"][0]["key"]

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "add", disk_full)  # an error path: the disk cannot take the line
    answer = post(client, "alice", {"item": key, "rating": "A"})
    assert answer.status_code == 500 and "not saved" in answer.get_json()["error"]
