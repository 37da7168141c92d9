"""SuperNI metrics of a prediction file, with the keys and numbers of natural-instructions'
eval/automatic/evaluation.py.

Per track (default, then xlingual): `exact_match_{track}_track` and `rougeL_{track}_track` over all
of the track's instances, then `{metric}_for_{category}_{track}_track` per category and
`{metric}_for_{task}_{track}_track` per task, groups in order of first appearance. An instance
without a prediction is scored as the empty string. The xlingual track is scored only with a
GPT-2 tokenizer given from a local folder; otherwise it is skipped and the report says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .items import TRACKS, EvalItem
from .metrics import aggregate, aggregate_by_group, best_exact_match, best_rouge_l, normalize_category


@dataclass
class SuperNIReport:
    """The metrics (official keys, in the official order) and what was missing or extra."""

    metrics: dict[str, float] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)  # scored instances per track
    missing: dict[str, list[str]] = field(default_factory=dict)  # ids scored as "" per track
    unknown: list[str] = field(default_factory=list)  # prediction ids that are no reference's
    notes: list[str] = field(default_factory=list)  # skipped tracks and why

    def to_json(self) -> str:
        """The metrics as the official script writes its output file."""
        return json.dumps(self.metrics, indent=2)

    def describe(self, per_group: bool = False) -> str:
        """A short human summary (every key with per_group=True)."""
        lines = []
        for track, count in self.instances.items():
            missing = len(self.missing.get(track, []))
            lines.append(f"{track} track: {count} instances, {count - missing} predicted, {missing} missing (scored as \"\")")
            for metric in ("exact_match", "rougeL"):
                lines.append(f"  {metric}: {self.metrics[f'{metric}_{track}_track']}")
        if per_group:
            lines += [f"  {key}: {value}" for key, value in self.metrics.items() if "_for_" in key]
        if self.unknown:
            shown = ", ".join(repr(ident) for ident in self.unknown[:5])
            lines.append(f"{len(self.unknown)} predictions have ids no reference has (ignored): {shown}"
                         + (", ..." if len(self.unknown) > 5 else ""))
        lines += self.notes
        return "\n".join(lines)


def evaluate_superni(items: Sequence[EvalItem], predictions: Mapping[str, str],
                     xlingual_tokenizer: Optional[Any] = None) -> SuperNIReport:
    """Score `predictions` ({id: text}) against the reference instances `items`.

    `xlingual_tokenizer` (an object with `tokenize(text) -> list[str]`, e.g. LocalGPT2Tokenizer)
    enables the xlingual track. Raises ValueError on items without references or with task
    categories given for only some instances of a track.
    """
    report = SuperNIReport()
    known = {item.id for item in items}
    report.unknown = [ident for ident in predictions if ident not in known]
    for track in TRACKS:
        chosen = [item for item in items if item.track == track]
        if not chosen:
            continue
        if track == "xlingual" and xlingual_tokenizer is None:
            report.notes.append(f"xlingual track skipped ({len(chosen)} instances): it is scored with the GPT-2 "
                                "tokenizer; give a local copy with --xlingual-tokenizer DIR")
            continue
        _check_items(chosen, track)
        texts = [predictions.get(item.id, "") for item in chosen]
        references = [item.references for item in chosen]
        exact = best_exact_match(texts, references)
        if track == "xlingual":
            from .xlingual import best_rouge_l_pretokenized

            rouge = best_rouge_l_pretokenized(texts, references, xlingual_tokenizer)
        else:
            rouge = best_rouge_l(texts, references)
        results = aggregate(exact, rouge)
        if chosen[0].category is not None:
            results.update(aggregate_by_group(exact, rouge, [normalize_category(item.category or "") for item in chosen]))
        if chosen[0].task_id is not None:
            results.update(aggregate_by_group(exact, rouge, [item.task_id for item in chosen]))
        report.metrics.update({f"{key}_{track}_track": value for key, value in results.items()})
        report.instances[track] = len(chosen)
        report.missing[track] = [item.id for item in chosen if item.id not in predictions]
    if not report.instances and not report.notes:
        raise ValueError("no reference instances to score")
    return report


def _check_items(items: Sequence[EvalItem], track: str) -> None:
    for item in items:
        if not item.references:
            raise ValueError(f"instance {item.id!r} has no references")
    for name in ("category", "task_id"):
        given = [getattr(item, name) is not None for item in items]
        if any(given) and not all(given):
            lacking = items[given.index(False)].id
            raise ValueError(f"{track} track: some instances have a {name} and {lacking!r} has none: give it for all or none")
