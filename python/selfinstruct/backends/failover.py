"""One request, tried over several endpoints until it succeeds or fails for good.

A failed attempt moves the request to another endpoint at once when one is ready (failover); a
retry on an endpoint that already failed it waits an exponential backoff (0.5 s doubling, jittered,
at most 30 s, at least the server's Retry-After). A request fails for good after `max_retries + 1`
failed attempts in all, or at once on an answer no retry can change (HTTP 4xx other than 408/429).
"""
from __future__ import annotations

import random
import threading
from typing import Any, Callable

from .base import BackendError
from .endpoints import EndpointPool
from .http_client import Cancelled, HTTPJSONClient, RetryableHTTPError

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0


def backoff_seconds(failures: int) -> float:
    """The wait before retry number `failures` (1-based) on the same endpoint."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1)) * (0.5 + random.random() / 2)


class FailoverCaller:
    """Sends requests through `client` to the endpoints of `pool`, with retries and failover.

    `sleep` waits between attempts; by default it waits on `cancelled`, so closing a stream also
    ends its backoffs (tests pass a recorder so they need not wait).
    """

    def __init__(self, pool: EndpointPool, client: HTTPJSONClient, max_retries: int,
                 cancelled: threading.Event, sleep: Callable[[float], Any] | None = None) -> None:
        self.pool = pool
        self.client = client
        self.attempts = max_retries + 1
        self.cancelled = cancelled
        self._sleep = sleep if sleep is not None else cancelled.wait

    def call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """The JSON answer; raises BackendError when the request fails for good, Cancelled when closed."""
        failed_on: set[str] = set()
        retry_after: float | None = None
        problem = ""
        for attempt in range(1, self.attempts + 1):
            if self.cancelled.is_set():
                raise Cancelled()
            endpoint, rest_wait = self.pool.acquire(avoid=failed_on)
            outcome: bool | None = None
            try:
                delay = rest_wait
                if endpoint.url in failed_on:  # no other endpoint ready: back off before trying it again
                    delay = max(delay, backoff_seconds(attempt - 1), retry_after or 0.0)
                if delay > 0:
                    self._sleep(delay)
                    if self.cancelled.is_set():
                        raise Cancelled()
                answer = self.client.request(endpoint.url, method, path, body)
                outcome = True
                return answer
            except RetryableHTTPError as error:
                outcome = False
                problem, retry_after = error.problem, error.retry_after
                failed_on.add(endpoint.url)
            finally:
                self.pool.release(endpoint, outcome, problem if outcome is False else "",
                                  retry_after if outcome is False else None)
        where = f"on {len(failed_on)} endpoint(s); " + self.pool.describe() if len(self.pool.endpoints) > 1 else endpoint.url
        raise BackendError(f"{method} {path} failed after {self.attempts} attempt(s): {problem} ({where})")
