"""Progress bars and end-of-step summaries.

The bar moves after every completed request and shows what was kept, what was dropped by reason,
prompt and completion tokens per second (over the step's wall time in this process) and an ETA. A `StepSummary` is what each step returns.
"""
from __future__ import annotations

import collections
import sys
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional


def _short(reason: str) -> str:
    return reason[len("dropped_"):] if reason.startswith("dropped_") else reason


def format_counts(counts: Mapping[str, int], kept_key: str) -> str:
    """"admitted=12 | rejected 40: too_similar=31 too_short=9" (reasons by decreasing count)."""
    dropped = sorted(((n, key) for key, n in counts.items() if key.startswith("dropped_") and n), reverse=True)
    text = f"{kept_key}={counts.get(kept_key, 0)}"
    if dropped:
        total = sum(n for n, _ in dropped)
        text += f" | rejected {total}: " + " ".join(f"{_short(key)}={n}" for n, key in dropped)
    return text


@dataclass
class StepSummary:
    """What a step did in this process (counts are cumulative over resumed runs)."""

    step: str
    counts: collections.Counter = field(default_factory=collections.Counter)
    kept_key: str = "kept"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generation_seconds: float = 0.0  # wall time of the step's generation loop in this process
    elapsed_seconds: float = 0.0
    outputs: tuple[str, ...] = ()
    note: str = ""

    @property
    def tokens_per_second(self) -> float:
        """Completion tokens per second of the generation loop."""
        return self.completion_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.prompt_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0

    def format(self) -> str:
        lines = [f"{self.step}: {format_counts(self.counts, self.kept_key)}"]
        if self.generation_seconds and (self.completion_tokens or self.prompt_tokens):
            lines.append(
                f"  read {self.prompt_tokens} prompt tokens ({self.prompt_tokens_per_second:.0f} tok/s) and generated "
                f"{self.completion_tokens} ({self.tokens_per_second:.0f} tok/s) in {self.generation_seconds:.1f} s; "
                f"step took {self.elapsed_seconds:.1f} s"
            )
        if self.note:
            lines.append(f"  {self.note}")
        for path in self.outputs:
            lines.append(f"  wrote {path}")
        return "\n".join(lines)


class StepProgress:
    """A tqdm bar (or nothing) fed by a step after every completion: kept and dropped counts,
    prompt and completion tokens per second, and tqdm's ETA when the total is known."""

    def __init__(self, summary: StepSummary, total: Optional[int], initial: int = 0, enabled: bool = True,
                 unit: str = "item") -> None:
        self.summary = summary
        self._start = time.perf_counter()
        self._last_refresh = 0.0
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=summary.step, unit=unit, file=sys.stderr,
                             dynamic_ncols=True, leave=True)

    def completed(self, prompt_tokens: int, completion_tokens: int, kept: int) -> None:
        """Record one finished request: its tokens and how many items it added."""
        self.summary.prompt_tokens += prompt_tokens
        self.summary.completion_tokens += completion_tokens
        self.summary.generation_seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.update(kept)
            now = time.perf_counter()
            if now - self._last_refresh > 0.2:  # the postfix is cheap, but not free at 10^4 requests/s
                self._last_refresh = now
                self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            summary = self.summary
            speed = ""
            if summary.generation_seconds:
                speed = (f" | in {summary.prompt_tokens_per_second:.0f} tok/s,"
                         f" out {summary.tokens_per_second:.0f} tok/s")
            self._bar.set_postfix_str(format_counts(summary.counts, summary.kept_key) + speed, refresh=True)

    def close(self) -> StepSummary:
        self.summary.elapsed_seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._refresh()
            self._bar.close()
        return self.summary
