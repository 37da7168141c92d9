"""Instances from step 3's raw completions, for a run (or an original release) without step 4's file.

The same parsers and filters as step 4: output-first for classification tasks, input-first
otherwise; a response cut by the length limit loses its last instance.
"""
from __future__ import annotations

from typing import Any, Sequence

from .formats import Triple


def parse_raw_instances(raw: Sequence[tuple[str, str, dict[str, Any]]], classification: dict[str, bool]) -> list[Triple]:
    """(instruction, input, output) for every kept instance of (instruction, raw text, record) rows."""
    from ..pipeline.instance_filters import InstanceFilter
    from ..pipeline.parsing import apply_truncation, parse_input_first, parse_output_first
    from ..pipeline.steps.finetuning import _finish_reason  # step 4's reading of the stop reason

    filters = InstanceFilter()
    triples: list[Triple] = []
    for instruction, text, record in raw:
        pairs = parse_output_first(text) if classification.get(instruction, False) else parse_input_first(text)
        pairs, _ = apply_truncation(pairs, _finish_reason(record), discard_whole=False)
        triples.extend((instruction.strip(), inp, out) for inp, out in filters(pairs))
    return triples
