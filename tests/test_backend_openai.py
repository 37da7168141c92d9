"""The OpenAI-compatible client: error paths against a scripted local server, then a real vLLM server.

The fake server (tests/fake_openai.py) is `http.server` in a thread on 127.0.0.1; each test
scripts its replies. The real tests start vLLM's OpenAI server from the environment named by
SELFINSTRUCT_VLLM_PYTHON, once for the module. Several endpoints and their failures:
tests/test_backend_failover.py.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.backends import BackendConfig, BackendError, SamplingParams, create_backend
from selfinstruct.backends.openai_backend import OpenAIBackend

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeServer, ok  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from vllm_env import free_port, skip_unless_vllm_server  # noqa: E402
from vllm_env import vllm_server as start_vllm_server  # noqa: E402

@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def make_backend(url: str, sleeps: list[float] | None = None, **overrides: Any) -> OpenAIBackend:
    settings = {"kind": "openai", "base_url": url, "model": "fake-model", "concurrency": 3, "timeout": 5.0, "max_retries": 3}
    settings.update(overrides)
    recorder = sleeps.append if sleeps is not None else (lambda seconds: None)
    return OpenAIBackend(BackendConfig(**settings), sleep=recorder)


def test_requests_carry_the_parameters_and_results_keep_prompt_order(server: FakeServer) -> None:
    backend = make_backend(server.url)
    prompts = [f"prompt number {i}" for i in range(7)]
    params = SamplingParams(max_tokens=9, temperature=0.7, top_p=0.5, stop=("\n\n", "16."), presence_penalty=2.0, n=2, seed=40)
    results = backend.generate(prompts, params)
    assert [[c.text for c in r] for r in results] == [[f" echo:{p}:0", f" echo:{p}:1"] for p in prompts]
    assert results[0][0].prompt_tokens == 3 and results[0][0].completion_tokens == 3
    bodies = sorted(server.posts(), key=lambda body: body["seed"])
    assert [body["seed"] for body in bodies] == list(range(40, 47))  # seed + prompt index
    assert {body["prompt"] for body in bodies} == set(prompts)
    first = bodies[0]
    assert (first["model"], first["max_tokens"], first["n"], first["stop"]) == ("fake-model", 9, 2, ["\n\n", "16."])
    assert (first["temperature"], first["top_p"], first["presence_penalty"]) == (0.7, 0.5, 2.0)
    assert backend.stats.prompts == 7 and backend.stats.completion_tokens == 7 * 6


def test_finish_reason_length_is_kept_and_others_become_stop(server: FakeServer) -> None:
    reasons = iter(["length", "eos", None])

    def reply(body: dict) -> tuple:
        return 200, {"choices": [{"index": 0, "text": "x", "finish_reason": next(reasons)}]}, {}, 0.0

    server.default = reply
    backend = make_backend(server.url, concurrency=1)
    results = backend.generate(["a", "b", "c"], SamplingParams(max_tokens=4))
    assert [r[0].finish_reason for r in results] == ["length", "stop", "stop"]


def test_server_errors_are_retried_with_growing_backoff(server: FakeServer) -> None:
    server.script = [lambda b: (503, {"message": "busy"}, {}, 0.0)] * 2
    sleeps: list[float] = []
    backend = make_backend(server.url, sleeps)
    [[completion]] = backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert completion.text == " echo:hello:0"
    assert len(server.posts()) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] <= sleeps[1]


def test_server_errors_give_up_after_max_retries(server: FakeServer) -> None:
    server.default = lambda b: (500, {"error": {"message": "engine crashed"}}, {}, 0.0)
    sleeps: list[float] = []
    backend = make_backend(server.url, sleeps, max_retries=2)
    with pytest.raises(BackendError) as error:
        backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert "after 3 attempt(s)" in str(error.value) and "HTTP 500: engine crashed" in str(error.value)
    assert len(server.posts()) == 3 and len(sleeps) == 2


def test_rate_limit_honours_retry_after(server: FakeServer) -> None:
    server.script = [lambda b: (429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}, 0.0)]
    sleeps: list[float] = []
    backend = make_backend(server.url, sleeps)
    backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert sleeps == [7.0]


def test_client_errors_fail_at_once_with_the_server_message(server: FakeServer) -> None:
    server.default = lambda b: (400, {"error": {"message": "max_tokens is too large"}}, {}, 0.0)
    sleeps: list[float] = []
    backend = make_backend(server.url, sleeps)
    with pytest.raises(BackendError) as error:
        backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert "HTTP 400: max_tokens is too large" in str(error.value)
    assert len(server.posts()) == 1 and sleeps == []


def test_unknown_model_404_is_not_retried(server: FakeServer) -> None:
    server.default = lambda b: (404, b"model not found", {}, 0.0)
    backend = make_backend(server.url)
    with pytest.raises(BackendError, match="HTTP 404: model not found"):
        backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert len(server.posts()) == 1


def test_timeout_is_retried_then_reported(server: FakeServer) -> None:
    server.default = lambda b: (*ok(b)[:3], 1.0)  # answers after 1 s
    sleeps: list[float] = []
    backend = make_backend(server.url, sleeps, timeout=0.2, max_retries=1)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"no answer within 0\.2 s"):
        backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert time.monotonic() - started < 3
    assert len(server.posts()) == 2 and len(sleeps) == 1


def test_connection_refused_is_retried_until_the_server_is_up() -> None:
    port = free_port()
    started: list[FakeServer] = []

    def sleep(seconds: float) -> None:  # the server comes up during the first backoff
        if not started:
            started.append(FakeServer(port))

    backend = OpenAIBackend(
        BackendConfig(kind="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=3), sleep=sleep
    )
    try:
        [[completion]] = backend.generate(["hello"], SamplingParams(max_tokens=4))
        assert completion.text == " echo:hello:0"
    finally:
        for fake in started:
            fake.close()


def test_connection_refused_gives_up_with_a_clear_error() -> None:
    port = free_port()
    sleeps: list[float] = []
    backend = make_backend(f"http://127.0.0.1:{port}/v1", sleeps, max_retries=2)
    with pytest.raises(BackendError, match=r"failed after 3 attempt\(s\): cannot connect"):
        backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert len(sleeps) == 2


def test_model_is_discovered_from_the_server(server: FakeServer) -> None:
    server.script = [lambda b: (200, {"object": "list", "data": [{"id": "served-model"}]}, {}, 0.0)]
    backend = make_backend(server.url, model=None)
    backend.generate(["hello"], SamplingParams(max_tokens=4))
    assert server.requests[0][:2] == ("GET", "/v1/models")
    assert server.posts()[0]["model"] == "served-model"


def test_api_key_is_sent_as_bearer_token(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    make_backend(server.url, api_key="sk-test").generate(["x"], SamplingParams(max_tokens=2))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    make_backend(server.url).generate(["y"], SamplingParams(max_tokens=2))
    assert [headers.get("Authorization") for headers in server.headers] == ["Bearer sk-test", "Bearer sk-from-env"]


def test_body_that_is_not_json_is_an_error(server: FakeServer) -> None:
    server.default = lambda b: (200, b"<html>proxy error</html>", {}, 0.0)
    with pytest.raises(BackendError, match="not JSON"):
        make_backend(server.url).generate(["x"], SamplingParams(max_tokens=2))


def test_create_backend_picks_openai_for_a_base_url(server: FakeServer) -> None:
    backend = create_backend(BackendConfig(base_url=server.url, model="m"))
    assert backend.name == "openai"
    backend.close()
    with pytest.raises(BackendError, match="closed"):
        backend.generate(["x"], SamplingParams(max_tokens=2))


@pytest.mark.parametrize("styles", [("chat", None), ("completion", "chat"), ("chat", "completion")])
def test_chat_prompts_are_refused_before_any_request(server: FakeServer, tmp_path: Path, styles: tuple) -> None:
    from selfinstruct.pipeline import PipelineConfig, bootstrap
    from selfinstruct.pipeline.config import InstructionConfig

    with pytest.raises(BackendError, match="/v1/completions as plain text"):
        make_backend(server.url).apply_chat_template([{"role": "user", "content": "Hi"}])
    config = PipelineConfig(output_dir=tmp_path / "out", num_instructions=3, progress=False, prompt_style=styles[0],
                            instructions=InstructionConfig(prompt_style=styles[1]))
    with pytest.raises(ValueError, match=r"backend 'openai' cannot apply a chat template .*--prompt-style completion"):
        bootstrap(config, backend=make_backend(server.url))
    assert server.requests == [] and not (tmp_path / "out").exists()  # before step 1 did anything


# --- the real thing: vLLM's OpenAI server from the vllm environment -------------------------------

@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory: pytest.TempPathFactory):
    skip_unless_vllm_server()
    with start_vllm_server(tmp_path_factory.mktemp("vllm-server")) as url:
        yield url


def test_real_vllm_server(vllm_server: str) -> None:
    # One request at a time: each runs alone in the server's batch, so repeats are bit-identical
    # (requests arriving together share batches, which changes CPU numerics and greedy picks).
    backend = create_backend(BackendConfig(base_url=vllm_server, concurrency=1, timeout=120, max_retries=1))
    assert backend.model == "smollm2"
    prompts = [
        "Come up with a series of tasks:\n\n1. Write a poem about the sea.\n2. Name three fruits.\n3.",
        "The capital of France is",
        "Task: Translate to French.\nInput: Good morning.\nOutput:",
    ]
    greedy = backend.generate(prompts, SamplingParams(max_tokens=12))
    assert greedy == backend.generate(prompts, SamplingParams(max_tokens=12))
    assert "Paris" in greedy[1][0].text
    assert all(c.prompt_tokens > 0 and 0 < c.completion_tokens <= 12 for [c] in greedy)

    stopped = backend.generate(prompts[:1], SamplingParams(max_tokens=24, stop=("\n",)))[0][0]
    assert stopped.finish_reason == "stop" and "\n" not in stopped.text
    assert greedy[0][0].text.startswith(stopped.text)

    [[short]] = backend.generate(prompts[:1], SamplingParams(max_tokens=2))
    assert short.finish_reason == "length" and short.completion_tokens == 2

    sampled = SamplingParams(max_tokens=10, temperature=1.0, top_p=0.9, seed=11)
    first = backend.generate(prompts, sampled)
    assert first == backend.generate(prompts, sampled), "per-request seeds make server sampling reproducible"
    assert first != backend.generate(prompts, dataclasses.replace(sampled, seed=12))
    # n = 2: the server runs two sequences whose batching depends on arrival timing, so only shapes.
    assert [len(r) for r in backend.generate(prompts, dataclasses.replace(sampled, n=2))] == [2, 2, 2]
    with pytest.raises(BackendError, match="HTTP 4"):
        backend.generate(prompts[:1], SamplingParams(max_tokens=100_000))
    assert backend.stats.tokens_per_second > 0


def test_real_vllm_server_behind_failing_endpoints(vllm_server: str) -> None:
    """Two endpoints (our fault proxies in front of the real server) that drop, fail, cut and hang
    requests: each request comes back once, with what the server gives it directly (its seed).
    One request in flight at a time, so each runs alone in the server's batch, as directly."""
    prompts = [f"Write task number {i} for a language model:" for i in range(8)]
    params = [SamplingParams(max_tokens=8, temperature=1.0, top_p=0.9, seed=200 + i) for i in range(8)]
    direct = create_backend(BackendConfig(base_url=vllm_server, model="smollm2", timeout=120, max_retries=1))
    expected = {i: direct.generate([prompts[i]], params[i])[0][0].text for i in range(8)}
    proxies = [FaultProxy(vllm_server, hang_seconds=60), FaultProxy(vllm_server)]
    proxies[0].plan = ["drop", "error", "truncate", "hang"]
    proxies[1].plan = ["error", "drop"]
    try:
        backend = create_backend(BackendConfig(base_url=[p.url for p in proxies], model="smollm2", timeout=5,
                                               max_retries=6))
        stream = backend.open_stream(1)
        for i in range(8):
            stream.submit(i, prompts[i], params[i])
        got: dict[int, str] = {}
        while stream.pending():
            key, [completion] = stream.next_finished(timeout=120)
            assert key not in got
            got[key] = completion.text
        stream.close()
    finally:
        for proxy in proxies:
            proxy.close()
    assert got == expected
    assert sum(len(p.answered) for p in proxies) == 8
    assert proxies[0].actions[:3] == ["drop", "error", "truncate"] and proxies[1].actions[:2] == ["error", "drop"]
