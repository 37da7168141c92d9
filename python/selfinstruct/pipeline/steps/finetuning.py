"""Step 4: parse and filter instances, then write the training data.

Inputs: step 3's raw completions (self-instruct mode) or the Alpaca-mode tasks. Outputs, each
rewritten atomically from scratch (the step is cheap and deterministic for a given seed):
- all_generated_instances.jsonl: {"instruction", "input", "output"} in task order;
- finetuning.jsonl: {"prompt", "completion"} with varied templates, deduplicated, shuffled;
- alpaca.json: a JSON list of {"instruction", "input", "output"};
- chat.jsonl: {"messages": [user, assistant]} for chat-format trainers.
"""
from __future__ import annotations

import json
import random
from typing import Any, Iterable

from ..records import write_atomic, write_jsonl_atomic
from .alpaca_mode import STEP as ALPACA_STEP
from .classification import read_clf_decisions
from .common import (ALL_INSTANCES_FILE, ALPACA_FILE, ALPACA_TASKS_FILE, CHAT_FILE, FINETUNING_FILE, INSTANCES_FILE,
                     load_seeds, read_step_output)
from .config import PipelineConfig
from .instance_filters import InstanceFilter
from .instances import STEP as INSTANCES_STEP
from .parsing import apply_truncation, parse_input_first, parse_output_first
from .progress import StepProgress, StepSummary
from .state import derive_seed
from .templates import encode

Triple = tuple[str, str, str]


def _finish_reason(record: dict[str, Any]) -> str:
    metadata = record.get("instance_metadata") or {}
    reason = metadata.get("finish_reason")
    if reason is None:  # the reference stored the whole API response
        choices = (metadata.get("response") or {}).get("choices") if isinstance(metadata.get("response"), dict) else None
        reason = choices[0].get("finish_reason") if choices else "stop"
    return str(reason)


def self_instruct_instances(config: PipelineConfig, filters: InstanceFilter) -> list[Triple]:
    """Parse every task's raw completion (output-first parser for classification), then filter."""
    records = read_step_output(config, INSTANCES_STEP, INSTANCES_FILE, "run `selfinstruct generate-instances` first")
    decisions = read_clf_decisions(config)
    triples: list[Triple] = []
    for record in records:
        instruction = record["instruction"]
        classification = record.get("is_classification", decisions.get(instruction, False))
        raw = str(record.get("raw_instances", ""))
        pairs = parse_output_first(raw) if classification else parse_input_first(raw)
        if not pairs:
            filters.counts["dropped_unparsed_task"] += 1
        pairs, dropped = apply_truncation(pairs, _finish_reason(record), discard_whole=False)
        filters.drop("truncated", dropped)
        triples.extend((instruction.strip(), inp, out) for inp, out in filters(pairs))
    return triples


def alpaca_instances(config: PipelineConfig, filters: InstanceFilter) -> list[Triple]:
    """The Alpaca-mode tasks, one instance each, through the same instance filters."""
    records = read_step_output(config, ALPACA_STEP, ALPACA_TASKS_FILE, "run `selfinstruct bootstrap --mode alpaca` first")
    triples: list[Triple] = []
    for record in records:
        for inp, out in filters([(record.get("input", ""), record.get("output", ""))]):
            triples.append((record["instruction"], inp, out))
    return triples


def seed_instances(config: PipelineConfig) -> list[Triple]:
    return [(task.instruction, inst.input, inst.output) for task in load_seeds(config) for inst in task.instances]


def finetuning_pairs(triples: Iterable[Triple], config: PipelineConfig) -> list[dict[str, str]]:
    """Encode with random templates, drop exact duplicates, shuffle (all seeded)."""
    cfg = config.finetuning
    rng = random.Random(derive_seed(config.seed, "finetuning"))
    pairs = [encode(i, x, y, rng, cfg.strip_prefix_prob, cfg.completion_suffix) for i, x, y in triples]
    unique = list({(p["prompt"], p["completion"]): p for p in pairs}.values())
    rng.shuffle(unique)
    return unique


def chat_record(instruction: str, inp: str, output: str) -> dict[str, Any]:
    user = f"{instruction.strip()}\n\n{inp.strip()}" if inp.strip() else instruction.strip()
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": output.strip()}]}


def prepare_finetuning(config: PipelineConfig) -> StepSummary:
    """Run step 4 over an output directory (rewrites its four files)."""
    summary = StepSummary("prepare-finetuning", kept_key="kept")
    progress = StepProgress(summary, None, 0, False)
    filters = InstanceFilter(config.finetuning.max_instances_per_task)
    out = config.output_dir
    alpaca_mode = config.mode == "alpaca" or (
        not (out / INSTANCES_FILE).exists() and (out / ALPACA_TASKS_FILE).exists())  # an Alpaca-mode directory
    triples = alpaca_instances(config, filters) if alpaca_mode else self_instruct_instances(config, filters)
    if config.finetuning.include_seed_tasks:
        triples = seed_instances(config) + triples
    triples = list(dict.fromkeys(triples))
    write_jsonl_atomic(out / ALL_INSTANCES_FILE, ({"instruction": i, "input": x, "output": y} for i, x, y in triples))
    pairs = finetuning_pairs(triples, config)
    write_jsonl_atomic(out / FINETUNING_FILE, pairs)
    alpaca = [{"instruction": i, "input": x, "output": y} for i, x, y in triples]
    write_atomic(out / ALPACA_FILE, json.dumps(alpaca, ensure_ascii=False, indent=2) + "\n")
    write_jsonl_atomic(out / CHAT_FILE, (chat_record(*triple) for triple in triples))
    summary.counts.update(filters.counts)
    summary.counts["kept"] = len(triples)
    tasks = len({i for i, _, _ in triples})
    summary.note = f"{len(triples)} instances of {tasks} tasks; {len(pairs)} fine-tuning pairs"
    summary.outputs = tuple(str(out / name) for name in (ALL_INSTANCES_FILE, FINETUNING_FILE, ALPACA_FILE, CHAT_FILE))
    progress.close()
    return summary
