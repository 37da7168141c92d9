"""Streams and several endpoints on the OpenAI-compatible client, with failures injected on purpose.

Upstream is the scripted local server (tests/fake_openai.py), answering deterministically from the
request (prompt and seed); in front of it, our fault-injecting proxies (tests/fault_proxy.py) drop
connections, answer 5xx, hang past the timeout or cut bodies. Every test checks that each request
comes back exactly once with the answer the upstream gives for it. The same checks against vLLM's
real server are in tests/test_backend_openai.py.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from selfinstruct.backends import BackendConfig, BackendError, SamplingParams
from selfinstruct.backends import endpoints as endpoints_module
from selfinstruct.backends import failover as failover_module
from selfinstruct.backends.openai_backend import OpenAIBackend
from selfinstruct.backends.streaming import open_stream

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeServer  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402


def seeded(body: dict) -> tuple:
    """A deterministic answer that shows the seed the request carried."""
    choices = [{"index": i, "text": f"{body['prompt']}|seed={body.get('seed')}|{i}", "finish_reason": "stop"}
               for i in range(body.get("n", 1))]
    usage = {"prompt_tokens": 2, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 1}}
    return 200, {"choices": choices, "usage": usage}, {}, 0.0


def slow(seconds: float):
    return lambda body: (*seeded(body)[:3], seconds)


@pytest.fixture
def upstream() -> Iterator[FakeServer]:
    server = FakeServer()
    server.default = seeded
    yield server
    server.close()


@pytest.fixture
def proxies(upstream: FakeServer) -> Iterator[list[FaultProxy]]:
    made = [FaultProxy(upstream.url), FaultProxy(upstream.url)]
    yield made
    for proxy in made:
        proxy.close()


def make_backend(urls: list[str], **overrides: Any) -> OpenAIBackend:
    settings: dict[str, Any] = {"kind": "openai", "base_url": urls, "model": "m", "timeout": 5.0, "max_retries": 4}
    settings.update(overrides)
    return OpenAIBackend(BackendConfig(**settings))


def run_stream(backend: OpenAIBackend, count: int, window: int) -> dict[int, str]:
    """Submit `count` requests, keeping `window` pending like the driver; return key -> text, checking
    each key comes back exactly once."""
    stream = open_stream(backend, window)
    results: dict[int, str] = {}
    submitted = 0
    try:
        while submitted < min(window, count):
            stream.submit(submitted, f"p{submitted}", SamplingParams(max_tokens=4, temperature=1.0, seed=1000 + submitted))
            submitted += 1
        while stream.pending():
            key, [completion] = stream.next_finished(timeout=30)
            assert key not in results, f"request {key} came back twice"
            results[key] = completion.text
            if submitted < count:
                stream.submit(submitted, f"p{submitted}", SamplingParams(max_tokens=4, temperature=1.0, seed=1000 + submitted))
                submitted += 1
        with pytest.raises(LookupError):
            stream.next_finished()
    finally:
        stream.close()
    return results


def expected(count: int) -> dict[int, str]:
    return {i: f"p{i}|seed={1000 + i}|0" for i in range(count)}


def test_stream_returns_requests_as_they_finish(upstream: FakeServer) -> None:
    upstream.default = lambda body: (*seeded(body)[:3], 0.4 if body["prompt"] == "slow" else 0.0)
    backend = make_backend([upstream.url])
    stream = backend.open_stream(4)
    stream.submit("a", "slow", SamplingParams(max_tokens=2, seed=1))
    stream.submit("b", "fast", SamplingParams(max_tokens=2, seed=2))
    assert stream.pending() == 2
    assert stream.next_finished(timeout=10)[0] == "b"  # completion order, not submission order
    with pytest.raises(TimeoutError):
        stream.next_finished(timeout=0.01)
    key, [completion] = stream.next_finished(timeout=10)
    assert (key, completion.text) == ("a", "slow|seed=1|0")
    assert stream.pending() == 0 and backend.stats.prompts == 2 and backend.stats.seconds > 0
    assert backend.stats.prompt_tokens == 4 and backend.stats.cached_prompt_tokens == 2
    with pytest.raises(ValueError, match="already pending"):
        stream.submit("c", "x", SamplingParams(max_tokens=2))
        stream.submit("c", "y", SamplingParams(max_tokens=2))
    stream.close()
    with pytest.raises(BackendError, match="closed"):
        stream.submit("d", "z", SamplingParams(max_tokens=2))


def test_window_bounds_the_requests_in_flight(upstream: FakeServer) -> None:
    upstream.default = slow(0.1)
    backend = make_backend([upstream.url])
    assert run_stream(backend, 24, window=6) == expected(24)
    assert upstream.max_in_flight == 6


def test_requests_go_to_the_least_loaded_endpoint(upstream: FakeServer, proxies: list[FaultProxy]) -> None:
    upstream.default = slow(0.1)
    backend = make_backend([p.url for p in proxies])
    assert run_stream(backend, 30, window=6) == expected(30)
    assert [p.max_in_flight for p in proxies] == [3, 3]
    assert all(len(p.answered) >= 10 for p in proxies)


def test_generate_spreads_concurrency_over_endpoints(upstream: FakeServer, proxies: list[FaultProxy]) -> None:
    upstream.default = slow(0.1)
    backend = make_backend([p.url for p in proxies], concurrency=2)
    results = backend.generate([f"q{i}" for i in range(12)], SamplingParams(max_tokens=2, seed=7))
    assert [r[0].text for r in results] == [f"q{i}|seed={7 + i}|0" for i in range(12)]
    assert upstream.max_in_flight == 4 and [p.max_in_flight for p in proxies] == [2, 2]


@pytest.mark.parametrize("fault", ["drop", "error", "truncate"])
def test_a_failing_endpoint_is_rested_and_its_requests_answered_elsewhere(
    upstream: FakeServer, proxies: list[FaultProxy], fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints_module, "REST_BASE_SECONDS", 60.0)  # outlasts the test on a slow machine
    proxies[0].mode = fault
    backend = make_backend([p.url for p in proxies])
    assert run_stream(backend, 40, window=8) == expected(40)
    bad, good = backend.endpoints.endpoints
    assert bad.rested_until > time.monotonic() and bad.answered == 0
    assert good.answered == 40 and len(proxies[1].answered) == 40
    # Rested after a few failures in a row: it saw the first requests, then (almost) none.
    assert proxies[0].count(fault) <= 8 + endpoints_module.FAILURES_BEFORE_REST


def test_timeouts_fail_over(upstream: FakeServer, proxies: list[FaultProxy], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints_module, "REST_BASE_SECONDS", 60.0)
    proxies[0].mode = "hang"
    backend = make_backend([p.url for p in proxies], timeout=0.3)
    started = time.monotonic()
    assert run_stream(backend, 16, window=4) == expected(16)
    assert time.monotonic() - started < 5  # one timeout per request at most, and then the rest
    assert proxies[0].count("hang") <= 4 + endpoints_module.FAILURES_BEFORE_REST


def test_random_faults_lose_and_duplicate_nothing(
    upstream: FakeServer, proxies: list[FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints_module, "REST_BASE_SECONDS", 0.05)  # real waits, shortened
    monkeypatch.setattr(failover_module, "BACKOFF_BASE_SECONDS", 0.01)
    chooser = random.Random(5)
    for proxy in proxies:  # both endpoints fail 40% of their requests, in every way
        proxy.policy = lambda number, body: chooser.choice(["pass", "pass", "pass", "drop", "error", "truncate"])
    backend = make_backend([p.url for p in proxies], max_retries=12)
    assert run_stream(backend, 60, window=10) == expected(60)
    answered = [body["seed"] for proxy in proxies for body in proxy.answered]
    assert sorted(set(answered)) == list(range(1000, 1060))  # each request's own seed, whichever endpoint answered


def test_a_rested_endpoint_is_tried_again_and_recovers(
    upstream: FakeServer, proxies: list[FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints_module, "REST_BASE_SECONDS", 0.05)
    proxies[0].plan = ["error"] * 3
    upstream.default = slow(0.02)
    backend = make_backend([p.url for p in proxies])
    assert run_stream(backend, 60, window=4) == expected(60)
    assert backend.endpoints.endpoints[0].answered > 0 and backend.endpoints.endpoints[0].rests_in_a_row == 0


def test_rate_limited_endpoint_rests_for_retry_after(upstream: FakeServer) -> None:
    limited = FakeServer()
    limited.default = lambda body: (429, {"error": {"message": "slow down"}}, {"Retry-After": "30"}, 0.0)
    try:
        backend = make_backend([limited.url, upstream.url])
        assert run_stream(backend, 10, window=2) == expected(10)
        assert len(limited.posts()) == 1  # resting 30 s after its first answer
    finally:
        limited.close()


def test_every_endpoint_failing_is_a_clear_error(proxies: list[FaultProxy]) -> None:
    for proxy in proxies:
        proxy.mode = "error"
    sleeps: list[float] = []
    backend = OpenAIBackend(BackendConfig(kind="openai", base_url=[p.url for p in proxies], model="m", max_retries=3),
                            sleep=sleeps.append)
    with pytest.raises(BackendError) as error:
        backend.generate(["x"], SamplingParams(max_tokens=2))
    message = str(error.value)
    assert "failed after 4 attempt(s): HTTP 503: injected failure" in message
    assert proxies[0].url in message and proxies[1].url in message
    assert sum(p.count("error") for p in proxies) == 4
    assert sleeps and all(s > 0 for s in sleeps)  # once both failed it, retries back off


def test_client_error_fails_only_its_request(upstream: FakeServer) -> None:
    upstream.default = lambda body: (400, {"message": "bad prompt"}, {}, 0.0) if body["prompt"] == "bad" else seeded(body)
    stream = make_backend([upstream.url]).open_stream(2)
    stream.submit(1, "bad", SamplingParams(max_tokens=2))
    stream.submit(2, "good", SamplingParams(max_tokens=2))
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(stream.next_finished(timeout=10)[0])
        except BackendError as error:
            outcomes.append(str(error))
    assert 2 in outcomes and any("HTTP 400: bad prompt" in str(o) for o in outcomes)
    assert len(upstream.posts()) == 2 and stream.pending() == 0


def test_close_aborts_requests_in_flight(upstream: FakeServer) -> None:
    upstream.default = slow(20)
    backend = make_backend([upstream.url])
    stream = backend.open_stream(4)
    for key in range(6):
        stream.submit(key, "x", SamplingParams(max_tokens=2))
    time.sleep(0.2)
    started = time.monotonic()
    backend.close()  # closes its streams
    assert time.monotonic() - started < 1 and stream.pending() == 0
    assert upstream.max_in_flight == 4  # the two queued ones never started
    with pytest.raises(BackendError, match="closed"):
        backend.open_stream(2)
