"""Progress bars and end-of-step summaries.

The bar shows what was kept, what was dropped by reason and the generation speed (completion
tokens per second of backend time, in this process). A `StepSummary` is what each step returns.
"""
from __future__ import annotations

import collections
import sys
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from ..backends.base import Completion


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
    completion_tokens: int = 0
    generation_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    outputs: tuple[str, ...] = ()
    note: str = ""

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0

    def format(self) -> str:
        lines = [f"{self.step}: {format_counts(self.counts, self.kept_key)}"]
        if self.generation_seconds:
            lines.append(
                f"  generated {self.completion_tokens} tokens in {self.generation_seconds:.1f} s "
                f"({self.tokens_per_second:.0f} tok/s); step took {self.elapsed_seconds:.1f} s"
            )
        if self.note:
            lines.append(f"  {self.note}")
        for path in self.outputs:
            lines.append(f"  wrote {path}")
        return "\n".join(lines)


class StepProgress:
    """A tqdm bar (or nothing) fed by a step; also times generation and counts tokens."""

    def __init__(self, summary: StepSummary, total: Optional[int], initial: int = 0, enabled: bool = True,
                 unit: str = "item") -> None:
        self.summary = summary
        self._start = time.perf_counter()
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=summary.step, unit=unit, file=sys.stderr,
                             dynamic_ncols=True, leave=True)

    def generated(self, completions: Sequence[Sequence[Completion]], seconds: float) -> None:
        """Record one backend call."""
        self.summary.completion_tokens += sum(c.completion_tokens for group in completions for c in group)
        self.summary.generation_seconds += seconds
        self._refresh()

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            speed = f" | {self.summary.tokens_per_second:.0f} tok/s" if self.summary.generation_seconds else ""
            self._bar.set_postfix_str(format_counts(self.summary.counts, self.summary.kept_key) + speed, refresh=True)

    def close(self) -> StepSummary:
        self.summary.elapsed_seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.close()
        return self.summary
