"""Client for any OpenAI-compatible `/v1/completions` server (vLLM, llama.cpp server, hosted APIs).

Standard library only: one HTTP request per prompt, `concurrency` of them in flight (threads).
Retries with exponential backoff on 5xx, 408, 429, connection errors and timeouts; any other 4xx
fails at once with the server's message, because repeating a bad request cannot help.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

from .base import BackendError, Completion, GenerationStats, SamplingParams
from .config import BackendConfig

RETRYABLE_STATUS = {408, 429}
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0


class OpenAIBackend:
    """Sends each prompt as one `/completions` request; `n` samples come back in that request."""

    name = "openai"

    def __init__(self, config: BackendConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        if config.base_url is None:
            raise ValueError("the openai backend needs base_url, e.g. http://127.0.0.1:8000/v1")
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.api_key = config.api_key or os.environ.get("OPENAI_API_KEY")
        self.stats = GenerationStats()
        self._sleep = sleep  # injectable, so tests of the backoff need not wait
        self._model: str | None = config.model
        self._lock = threading.Lock()
        self._closed = False

    @property
    def model(self) -> str:
        """The model name sent with each request; asked from the server's /models when not configured."""
        with self._lock:
            if self._model is None:
                listing = self._request("GET", "/models", None)
                models = [entry.get("id") for entry in listing.get("data", []) if entry.get("id")]
                if not models:
                    raise BackendError(f"{self.base_url}/models lists no model: pass the model name explicitly")
                self._model = models[0]
            return self._model

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """Return `params.n` completions per prompt, in prompt order; the first failure is raised."""
        if self._closed:
            raise BackendError("the openai backend is closed")
        if not prompts:
            return []
        started = time.perf_counter()
        model = self.model
        bodies = [self._body(model, prompt, params, index) for index, prompt in enumerate(prompts)]
        results: list[list[Completion]] = [[] for _ in prompts]
        pool = ThreadPoolExecutor(max_workers=min(self.config.concurrency, max(1, len(bodies))))
        try:
            futures = {pool.submit(self._complete, body, params.n): index for index, body in enumerate(bodies)}
            wait(futures, return_when=FIRST_EXCEPTION)
            for future, index in futures.items():
                if future.done() and future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
            for future, index in futures.items():
                results[index] = future.result()
        finally:
            # On failure or Ctrl-C: drop queued requests, do not wait for those in flight.
            pool.shutdown(wait=False, cancel_futures=True)
        self.stats.record(results, time.perf_counter() - started)
        return results

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """Not available: prompts go to /completions as plain text, and the model's chat template
        lives in the server's tokenizer, which this client cannot see. Always raises BackendError."""
        raise BackendError(
            "prompts go to /v1/completions as plain text and the model's chat template stays on the "
            "server; send completion prompts (the method's way)"
        )

    def _body(self, model: str, prompt: str, params: SamplingParams, index: int) -> dict[str, Any]:
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
            body["seed"] = (params.seed + index) % 2**63
        return body

    def _complete(self, body: dict[str, Any], n: int) -> list[Completion]:
        reply = self._request("POST", "/completions", body)
        choices = sorted(reply.get("choices") or [], key=lambda choice: choice.get("index", 0))
        if len(choices) != n:
            raise BackendError(f"{self.base_url}/completions returned {len(choices)} choices, expected {n}")
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

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One HTTP exchange with retries; returns the decoded JSON object."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                request = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                    payload = response.read()
                try:
                    return json.loads(payload)
                except ValueError:
                    raise BackendError(f"{method} {url} returned a body that is not JSON: {payload[:200]!r}") from None
            except urllib.error.HTTPError as error:
                message = _error_message(error)
                if error.code < 500 and error.code not in RETRYABLE_STATUS:
                    raise BackendError(
                        f"{method} {url} was rejected with HTTP {error.code}: {message} "
                        "(a client error: check the model name, the parameters and the API key)"
                    ) from None
                problem = f"HTTP {error.code}: {message}"
                retry_after = _retry_after(error)
            except (socket.timeout, TimeoutError):
                problem = f"no answer within {self.config.timeout} s (raise the timeout for long generations)"
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    problem = f"no answer within {self.config.timeout} s (raise the timeout for long generations)"
                else:
                    problem = f"cannot connect: {reason}"
            if attempt + 1 >= attempts:
                raise BackendError(f"{method} {url} failed after {attempts} attempt(s): {problem}")
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt) * (0.5 + random.random() / 2)
            if retry_after is not None:
                delay = min(BACKOFF_MAX_SECONDS, max(delay, retry_after))
            self._sleep(delay)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Nothing to free (connections are per request); later calls fail (idempotent)."""
        self._closed = True


def _error_message(error: urllib.error.HTTPError) -> str:
    """The server's error text: OpenAI's {"error": {"message"}} or vLLM's {"message"}, else the raw body."""
    try:
        raw = error.read().decode("utf-8", errors="replace")
    except Exception:
        raw = ""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw.strip()[:500] or str(error.reason)
    if isinstance(payload, dict):
        inner = payload.get("error", payload)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
        if isinstance(inner, str):
            return inner[:500]
    return raw.strip()[:500]


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
