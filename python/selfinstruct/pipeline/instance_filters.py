"""Instance filters (steps 3 and 4), with every dropped instance counted by reason.

Per instance: drop when the input equals the output, the output is empty, or the input or the
output ends with ":" (an unfinished generation). Per task: if two instances share a non-empty input
with different outputs the task is ambiguous and all its instances go; otherwise exact duplicates
are removed (first kept) and at most `cap` instances are kept, in generation order (step 3 filters
without a cap; step 4 applies it).
"""
from __future__ import annotations

import collections
from typing import Callable, Optional, Sequence

INSTANCE_DROP_REASONS = (
    "truncated", "input_equals_output", "empty_output", "ends_with_colon", "conflicting_task", "duplicate", "over_cap",
)


def check_instance(inp: str, out: str) -> Optional[str]:
    """None to keep an (input, output) pair, else the reason to drop it."""
    if inp == out:
        return "input_equals_output"
    if out == "":
        return "empty_output"
    if inp.strip().endswith(":") or out.strip().endswith(":"):
        return "ends_with_colon"
    return None


Rejected = Callable[[str, tuple[str, str]], None]  # (reason, the dropped (input, output))


class InstanceFilter:
    """Filters the instances of one task at a time; `counts` accumulates kept and dropped_<reason>,
    and `on_drop` (e.g. a run log) hears of every dropped instance."""

    def __init__(self, cap: Optional[int] = 5, on_drop: Optional[Rejected] = None,
                 counts: Optional[collections.Counter] = None) -> None:
        self.cap = cap
        self.on_drop = on_drop
        self.counts: collections.Counter[str] = counts if counts is not None else collections.Counter()

    def drop(self, reason: str, instances: Sequence[tuple[str, str]]) -> None:
        """Count (and report) dropped instances, also those dropped before filtering."""
        for instance in instances:
            self.counts[f"dropped_{reason}"] += 1
            if self.on_drop is not None:
                self.on_drop(reason, instance)

    def __call__(self, instances: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        valid = []
        for inp, out in instances:
            reason = check_instance(inp, out)
            if reason is None:
                valid.append((inp, out))
            else:
                self.drop(reason, [(inp, out)])
        outputs_by_input: dict[str, set[str]] = collections.defaultdict(set)
        for inp, out in valid:
            if inp:
                outputs_by_input[inp].add(out)
        if any(len(outputs) > 1 for outputs in outputs_by_input.values()):
            self.drop("conflicting_task", valid)
            return []
        unique, seen = [], set()
        for pair in valid:
            if pair in seen:
                self.drop("duplicate", [pair])
            else:
                seen.add(pair)
                unique.append(pair)
        kept = unique if self.cap is None else unique[: self.cap]
        self.drop("over_cap", unique[len(kept):])
        self.counts["kept"] += len(kept)
        return kept
