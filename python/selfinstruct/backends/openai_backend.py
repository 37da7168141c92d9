"""Client for OpenAI-compatible `/v1/completions` servers (vLLM, llama.cpp server, hosted APIs).

Standard library only: one HTTP request per prompt, on worker threads with kept-alive
connections. Several servers (one per GPU or node) can share the work: each attempt goes to the
least-loaded endpoint, a failed one is retried at once on another (see `failover`), and an endpoint
that keeps failing is rested (see `endpoints`). Each request carries its own sampling seed, so its
result does not depend on which server answered. Retried: timeouts, dropped connections, HTTP 5xx,
408, 429; any other 4xx fails at once with the server's message, because repeating a bad request
cannot help.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import weakref
from typing import Any, Callable, Sequence

from .base import BackendError, Completion, GenerationStats, SamplingParams
from .config import BackendConfig
from .endpoints import EndpointPool
from .failover import FailoverCaller
from .http_client import HTTPJSONClient
from .threaded_stream import ThreadedStream


class OpenAIBackend:
    """Sends each prompt as one `/completions` request; `n` samples come back in that request.

    `generate` keeps `concurrency` requests in flight per endpoint; `open_stream(window)` keeps up
    to `window` in flight, spread over the endpoints, and hands back each one as it finishes.
    """

    name = "openai"

    def __init__(self, config: BackendConfig, sleep: Callable[[float], Any] | None = None) -> None:
        if not config.base_url:
            raise ValueError("the openai backend needs base_url, e.g. http://127.0.0.1:8000/v1")
        self.config = config
        self.base_urls: tuple[str, ...] = tuple(config.base_url)
        self.api_key = config.api_key or os.environ.get("OPENAI_API_KEY")
        self.stats = GenerationStats()
        self.endpoints = EndpointPool(self.base_urls)  # shared by every stream: load and rests are global
        self._sleep = sleep  # injectable, so tests of the backoff need not wait
        self._model: str | None = config.model
        self._lock = threading.Lock()
        self._closed = False
        self._streams: weakref.WeakSet[ThreadedStream] = weakref.WeakSet()

    @property
    def base_url(self) -> str:
        """The first endpoint (kept for callers that know one server)."""
        return self.base_urls[0]

    @property
    def model(self) -> str:
        """The model name sent with each request; asked from a server's /models when not configured
        (every endpoint must serve the same model under the same name)."""
        with self._lock:
            if self._model is None:
                listing = self._caller(threading.Event()).call("GET", "/models", None)
                models = [entry.get("id") for entry in listing.get("data") or [] if isinstance(entry, dict) and entry.get("id")]
                if not models:
                    raise BackendError(f"{self.base_url}/models lists no model: pass the model name explicitly")
                self._model = models[0]
            return self._model

    def open_stream(self, window: int) -> ThreadedStream:
        """A stream keeping up to `window` requests in flight over all endpoints; each request's
        seed is `params.seed` as given (the driver derives one per request)."""
        if self._closed:
            raise BackendError("the openai backend is closed")
        return self._stream(window, self.stats)

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """Return `params.n` completions per prompt, in prompt order (request i gets seed
        `params.seed + i`); the first request that fails for good is raised."""
        if self._closed:
            raise BackendError("the openai backend is closed")
        if not prompts:
            return []
        started = time.perf_counter()
        results: list[list[Completion]] = [[] for _ in prompts]
        stream = self._stream(self.config.concurrency * len(self.base_urls), None)
        try:
            for index, prompt in enumerate(prompts):
                seed = None if params.seed is None else (params.seed + index) % 2**63
                stream.submit(index, prompt, dataclasses.replace(params, seed=seed))
            while stream.pending():
                index, completions = stream.next_finished()
                results[index] = completions  # type: ignore[index]
        finally:
            # On failure or Ctrl-C: drop queued requests and abort those in flight.
            stream.close()
        self.stats.record(results, time.perf_counter() - started)
        return results

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """Not available: prompts go to /completions as plain text, and the model's chat template
        lives in the server's tokenizer, which this client cannot see. Always raises BackendError."""
        raise BackendError(
            "prompts go to /v1/completions as plain text and the model's chat template stays on the "
            "server; send completion prompts (the method's way)"
        )

    def close(self) -> None:
        """Close open streams (aborting their requests); later calls fail (idempotent)."""
        self._closed = True
        for stream in list(self._streams):
            stream.close()

    def _caller(self, cancelled: threading.Event, client: HTTPJSONClient | None = None) -> FailoverCaller:
        client = client or HTTPJSONClient(self.config.timeout, self.api_key)
        return FailoverCaller(self.endpoints, client, self.config.max_retries, cancelled, self._sleep)

    def _stream(self, window: int, stats: GenerationStats | None) -> ThreadedStream:
        model = self.model  # resolved once, before any worker starts
        cancelled = threading.Event()
        client = HTTPJSONClient(self.config.timeout, self.api_key)
        caller = self._caller(cancelled, client)

        def work(prompt: str, params: SamplingParams) -> tuple[list[Completion], int]:
            reply = caller.call("POST", "/completions", request_body(model, prompt, params))
            return parse_choices(reply, params.n, self.base_url), cached_prompt_tokens(reply)

        def on_close() -> None:
            cancelled.set()
            client.abort_all()

        stream = ThreadedStream(work, window, stats, on_close, client.close_thread_connections, name="openai")
        self._streams.add(stream)
        return stream


def request_body(model: str, prompt: str, params: SamplingParams) -> dict[str, Any]:
    """The /completions request for one prompt; `params.seed` travels with it."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "n": params.n,
    }
    if params.stop:
        body["stop"] = list(params.stop)
    if params.presence_penalty:
        body["presence_penalty"] = params.presence_penalty
    if params.frequency_penalty:
        body["frequency_penalty"] = params.frequency_penalty
    if params.seed is not None:
        body["seed"] = params.seed % 2**63
    return body


def parse_choices(reply: dict[str, Any], n: int, where: str) -> list[Completion]:
    """The `n` completions of one /completions answer, in choice order."""
    raw = reply.get("choices")
    if not isinstance(raw, list) or not all(isinstance(choice, dict) for choice in raw):
        raise BackendError(f"{where}/completions answered without a list of choices: {str(reply)[:200]}")
    choices = sorted(raw, key=lambda choice: choice.get("index", 0))
    if len(choices) != n:
        raise BackendError(f"{where}/completions returned {len(choices)} choices, expected {n}")
    usage = reply.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    # usage counts all n choices together; share it out (exact for n == 1).
    total = int(usage.get("completion_tokens") or 0)
    shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
    return [
        Completion(
            text=choice.get("text") or "",
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=share,
        )
        for choice, share in zip(choices, shares)
    ]


def cached_prompt_tokens(reply: dict[str, Any]) -> int:
    """Prompt tokens the server's prefix cache served, where it says (OpenAI's
    usage.prompt_tokens_details.cached_tokens; vLLM with --enable-prompt-tokens-details)."""
    details = (reply.get("usage") or {}).get("prompt_tokens_details") or {}
    try:
        return int(details.get("cached_tokens") or 0)
    except (TypeError, ValueError):
        return 0
