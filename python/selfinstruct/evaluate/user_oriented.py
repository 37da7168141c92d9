"""The 252 user-oriented instructions of Self-Instruct: loading them, and ROUGE-L of several
models' predictions against their reference outputs, side by side.

Scoring is SuperNI's: ROUGE-L F with the stemmer (best over an instance's references), exact
match after normalization, 100 x the mean over all instances, a missing prediction scored as "".
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..records import RecordError, read_jsonl
from .items import EvalItem
from .metrics import aggregate, best_exact_match, best_rouge_l
from .predictions import instance_key, read_predictions


def load_user_oriented(path: str | os.PathLike[str]) -> list[EvalItem]:
    """Items of a user-oriented instruction file: lines {"id", "instruction", "instances": [{"input", "output"}]}.

    A task with one instance gives one item with the task's id; with several, ids "<id>-<n>" (n from 0).
    Malformed lines raise RecordError (file:line).
    """
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, record in read_jsonl(path):
        ident, instruction, instances = record.get("id"), record.get("instruction"), record.get("instances")
        if not isinstance(ident, str) or not isinstance(instruction, str):
            raise RecordError(path, number, "needs a string 'id' and a string 'instruction'")
        if ident in seen:
            raise RecordError(path, number, f"duplicate id {ident!r} (first at line {seen[ident]})")
        seen[ident] = number
        if not isinstance(instances, list) or not instances:
            raise RecordError(path, number, "'instances' must be a non-empty list")
        for index, instance in enumerate(instances):
            if not isinstance(instance, dict) or not isinstance(instance.get("input", ""), str) \
                    or not isinstance(instance.get("output"), str):
                raise RecordError(path, number, f"instances[{index}] needs a string 'output' (and 'input')")
            item_id = ident if len(instances) == 1 else f"{ident}-{index}"
            items.append(EvalItem(item_id, instruction, instance.get("input", ""), (instance["output"],),
                                  task_id=ident, category=record.get("motivation_app")))
    if not items:
        raise ValueError(f"{path}: no instructions")
    return items


@dataclass(frozen=True)
class ModelScore:
    """One prediction file's scores."""

    name: str
    path: str
    rouge_l: float
    exact_match: float
    predicted: int
    missing: int
    unknown: int


def model_name(path: str | os.PathLike[str]) -> str:
    """A table label from a file name: "davinci_predictions.jsonl" -> "davinci"."""
    stem = Path(path).name
    for suffix in (".jsonl", ".json"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem[: -len("_predictions")] if stem.endswith("_predictions") and stem != "_predictions" else stem


def score_user_oriented(items: Sequence[EvalItem], prediction_paths: Sequence[str | os.PathLike[str]]) -> list[ModelScore]:
    """Score each prediction file (official {"id", "prediction"} lines, or response lines with
    instruction and input, as in Self-Instruct's human-evaluation files)."""
    by_instance: dict[tuple[str, str], Optional[str]] = {}
    for item in items:  # two instances with the same instruction and input cannot be told apart
        key = instance_key(item.instruction, item.input)
        by_instance[key] = None if key in by_instance else item.id
    known = {item.id for item in items}
    references = [item.references for item in items]
    scores = []
    for path in prediction_paths:
        predictions = read_predictions(path, by_instance)
        texts = [predictions.get(item.id, "") for item in items]
        metrics = aggregate(best_exact_match(texts, references), best_rouge_l(texts, references))
        present = sum(item.id in predictions for item in items)
        scores.append(ModelScore(model_name(path), str(path), metrics["rougeL"], metrics["exact_match"], present,
                                 len(items) - present, sum(ident not in known for ident in predictions)))
    return scores


def format_table(scores: Sequence[ModelScore]) -> str:
    """A plain-text table, one row per model, in the order given."""
    header = ("model", "ROUGE-L", "exact match", "predicted", "missing", "unknown ids")
    rows = [(s.name, f"{s.rouge_l:.2f}", f"{s.exact_match:.2f}", str(s.predicted), str(s.missing), str(s.unknown))
            for s in scores]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
