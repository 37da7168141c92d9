"""Several servers behind one client: least-loaded choice, and a rest for a server that keeps failing.

Thread-safe: every worker thread of a stream acquires an endpoint for each attempt and releases
it with the outcome. An endpoint that fails `FAILURES_BEFORE_REST` times in a row gets no new
requests for a while (1 s, doubling with each rest in a row, at most 60 s); after its rest it is
tried again, and one success makes it healthy again. A rest also starts when a server asks for
one (HTTP 429 with Retry-After).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Collection, Sequence

FAILURES_BEFORE_REST = 3
REST_BASE_SECONDS = 1.0
REST_MAX_SECONDS = 60.0

log = logging.getLogger(__name__)


@dataclass
class Endpoint:
    """One server and what the client knows about it right now."""

    url: str
    in_flight: int = 0
    consecutive_failures: int = 0
    rests_in_a_row: int = 0
    rested_until: float = 0.0
    answered: int = 0
    failed: int = 0
    last_problem: str = ""


class EndpointPool:
    """The endpoints of one backend; `acquire` picks one for an attempt, `release` reports how it went."""

    def __init__(self, urls: Sequence[str], clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("an endpoint pool needs at least one URL")
        self.endpoints = [Endpoint(url) for url in urls]
        self._clock = clock
        self._lock = threading.Lock()
        self._turn = 0  # rotates ties, so equally loaded endpoints take turns

    def acquire(self, avoid: Collection[str] = ()) -> tuple[Endpoint, float]:
        """The least-loaded endpoint not resting (and not in `avoid`, unless that leaves none), with
        0 s to wait; if every candidate rests, the one whose rest ends first and the seconds until
        then. The endpoint counts the attempt as in flight until `release`."""
        with self._lock:
            now = self._clock()
            count = len(self.endpoints)
            candidates = [e for e in self.endpoints if e.url not in avoid] or self.endpoints
            ready = [e for e in candidates if e.rested_until <= now]
            self._turn += 1
            if ready:
                order = {id(e): (i - self._turn) % count for i, e in enumerate(self.endpoints)}
                chosen = min(ready, key=lambda e: (e.in_flight, order[id(e)]))
                wait = 0.0
            else:
                chosen = min(candidates, key=lambda e: e.rested_until)
                wait = chosen.rested_until - now
            chosen.in_flight += 1
            return chosen, wait

    def release(self, endpoint: Endpoint, ok: bool | None, problem: str = "", retry_after: float | None = None) -> None:
        """End an attempt: ok=True answered, False failed (counts towards a rest), None cancelled."""
        with self._lock:
            endpoint.in_flight -= 1
            if ok is None:
                return
            now = self._clock()
            if ok:
                if endpoint.rests_in_a_row:
                    log.info("endpoint %s answers again", endpoint.url)
                endpoint.answered += 1
                endpoint.consecutive_failures = 0
                endpoint.rests_in_a_row = 0
                return
            endpoint.failed += 1
            endpoint.consecutive_failures += 1
            endpoint.last_problem = problem
            if retry_after is not None:
                endpoint.rested_until = max(endpoint.rested_until, now + retry_after)
            if endpoint.consecutive_failures >= FAILURES_BEFORE_REST and endpoint.rested_until <= now:
                rest = min(REST_MAX_SECONDS, REST_BASE_SECONDS * 2**endpoint.rests_in_a_row)
                endpoint.rests_in_a_row += 1
                endpoint.rested_until = now + rest
                log.warning("endpoint %s failed %d times in a row (%s): resting it for %.0f s",
                            endpoint.url, endpoint.consecutive_failures, problem, rest)

    def others_ready(self, avoid: Collection[str]) -> bool:
        """Whether some endpoint outside `avoid` is not resting (a retry can go there at once)."""
        with self._lock:
            now = self._clock()
            return any(e.url not in avoid and e.rested_until <= now for e in self.endpoints)

    def describe(self) -> str:
        """Each endpoint's last problem, for the error raised when a request fails for good."""
        with self._lock:
            return "; ".join(f"{e.url}: {e.last_problem or 'no failure'}" for e in self.endpoints)
