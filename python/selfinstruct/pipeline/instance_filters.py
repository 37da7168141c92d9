"""Instance filters of step 4 (DESIGN.md §1.4), with every dropped instance counted by reason.

Per instance: drop when the input equals the output, the output is empty, or the input or the
output ends with ":" (an unfinished generation). Per task: if two instances share a non-empty input
with different outputs the task is ambiguous and all its instances go; otherwise exact duplicates
are removed (first kept) and at most `cap` instances are kept, in generation order.
"""
from __future__ import annotations

import collections
from typing import Optional, Sequence

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


class InstanceFilter:
    """Filters the instances of one task at a time; `counts` accumulates kept and dropped_<reason>."""

    def __init__(self, cap: int = 5) -> None:
        self.cap = cap
        self.counts: collections.Counter[str] = collections.Counter()

    def drop(self, reason: str, number: int = 1) -> None:
        """Count instances dropped before filtering (e.g. the last one of a length-cut response)."""
        if number:
            self.counts[f"dropped_{reason}"] += number

    def __call__(self, instances: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        valid = []
        for inp, out in instances:
            reason = check_instance(inp, out)
            if reason is None:
                valid.append((inp, out))
            else:
                self.drop(reason)
        outputs_by_input: dict[str, set[str]] = collections.defaultdict(set)
        for inp, out in valid:
            if inp:
                outputs_by_input[inp].add(out)
        if any(len(outputs) > 1 for outputs in outputs_by_input.values()):
            self.drop("conflicting_task", len(valid))
            return []
        unique = list(dict.fromkeys(valid))
        self.drop("duplicate", len(valid) - len(unique))
        kept = unique[: self.cap]
        self.drop("over_cap", len(unique) - len(kept))
        self.counts["kept"] += len(kept)
        return kept
