"""Step 4: the training data, from what step 3 (or Alpaca mode) kept.

Inputs: step 3's records, whose `instances` are already parsed and filtered (a file from the
reference code, without them, is parsed here the same way), or the Alpaca-mode tasks. Each task
keeps at most `--max-instances-per-task` instances; exact duplicates across tasks go. Outputs,
each rewritten from scratch (the step is cheap and deterministic for a given seed), all published
together under the step's lock, through uniquely named temporary files:
- all_generated_instances.jsonl: {"instruction", "input", "output"} in task order;
- finetuning.jsonl: {"prompt", "completion"} with varied templates, deduplicated, shuffled;
- alpaca.json: a JSON list of {"instruction", "input", "output"};
- chat.jsonl: {"messages": [user, assistant]} for chat-format trainers;
- rejects/prepare-finetuning.jsonl: the instances dropped here, with their reason.
"""
from __future__ import annotations

import json
import random
from typing import Any, Iterable, Iterator

from ...records import dump_line
from ..config import PipelineConfig
from ..files import (ALL_INSTANCES_FILE, ALPACA_FILE, ALPACA_TASKS_FILE, CHAT_FILE, FINETUNING_FILE, INSTANCES_FILE,
                     load_seeds, state_path, step_records)
from ..instance_filters import InstanceFilter
from ..journal import FileLock
from ..parsing import apply_truncation, parse_instances
from ..progress import StepProgress, StepSummary
from ..prompts.finetuning import encode
from ..publish import clean_stale, publish_all
from ..runlog import REJECTS_DIR, RunLog
from ..seeding import derive_seed
from .alpaca import STEP as ALPACA_STEP
from .instances import STEP as INSTANCES_STEP, render_instance

TITLE = "prepare-finetuning"
Triple = tuple[str, str, str]


def _finish_reason(record: dict[str, Any]) -> str:
    metadata = record.get("instance_metadata") or {}
    reason = metadata.get("finish_reason")
    if reason is None:  # the reference stored the whole API response
        choices = (metadata.get("response") or {}).get("choices") if isinstance(metadata.get("response"), dict) else None
        reason = choices[0].get("finish_reason") if choices else "stop"
    return str(reason)


def task_instances(record: dict[str, Any], filters: InstanceFilter) -> list[tuple[str, str]]:
    """A step-3 record's kept instances; a reference record (raw text only) is parsed and filtered here."""
    if "instances" in record:
        return [(item["input"], item["output"]) for item in record["instances"]]
    found = parse_instances(str(record.get("raw_instances", "")), bool(record.get("is_classification", False)))
    pairs, _ = apply_truncation(found, _finish_reason(record), discard_whole=False)
    filters.drop("truncated", found[len(pairs):])
    return filters(pairs)


def self_instruct_instances(config: PipelineConfig, log: RunLog) -> Iterator[Triple]:
    """Step 3's kept instances, at most `max_instances_per_task` per task."""
    cap = config.finetuning.max_instances_per_task
    records = step_records(config, INSTANCES_STEP, INSTANCES_FILE, "run `selfinstruct generate-instances` first")
    for record in records:
        instruction = record["instruction"]

        def dropped(reason: str, instance: tuple[str, str]) -> None:
            log.reject(reason, render_instance(instruction, instance))

        pairs = task_instances(record, InstanceFilter(cap=None, on_drop=dropped))
        for instance in pairs[cap:]:
            dropped("over_cap", instance)
        yield from ((instruction.strip(), inp, out) for inp, out in pairs[:cap])


def alpaca_instances(config: PipelineConfig, log: RunLog) -> Iterator[Triple]:
    """The Alpaca-mode tasks, one instance each, through the same instance filters."""
    records = step_records(config, ALPACA_STEP, ALPACA_TASKS_FILE, "run `selfinstruct bootstrap --mode alpaca` first")
    for record in records:
        instruction = record["instruction"]

        def dropped(reason: str, instance: tuple[str, str]) -> None:
            log.reject(reason, render_instance(instruction, instance))

        filters = InstanceFilter(cap=config.finetuning.max_instances_per_task, on_drop=dropped)
        for inp, out in filters([(record.get("input", ""), record.get("output", ""))]):
            yield instruction, inp, out


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


def _json_list(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON list written item by item, as json.dumps(list, indent=2) would write it."""
    first = True
    for record in records:
        item = json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        yield ("[\n  " if first else ",\n  ") + item
        first = False
    yield "[]\n" if first else "\n]\n"


def prepare_finetuning(config: PipelineConfig) -> StepSummary:
    """Run step 4 over an output directory (rewrites its files, all or none)."""
    summary = StepSummary(TITLE, kept_key="kept")
    progress = StepProgress(summary, None, 0, False)
    out = config.output_dir
    log = RunLog(out, TITLE, summary.counts)
    targets = [out / name for name in (ALL_INSTANCES_FILE, FINETUNING_FILE, ALPACA_FILE, CHAT_FILE)]
    rejects = log.rejects_path
    with FileLock(state_path(config, "finetuning", ".lock"),
                  f"another run is writing the fine-tuning files of {out}: wait for it or stop it first"):
        for path in [*targets, rejects]:
            clean_stale(path)
        alpaca_mode = config.mode == "alpaca" or (
            not (out / INSTANCES_FILE).exists() and (out / ALPACA_TASKS_FILE).exists())  # an Alpaca-mode directory
        found = alpaca_instances(config, log) if alpaca_mode else self_instruct_instances(config, log)
        triples: dict[Triple, None] = dict.fromkeys(seed_instances(config)) if config.finetuning.include_seed_tasks else {}
        for triple in found:
            if triple in triples:
                log.reject("duplicate", render_instance(triple[0], triple[1:]))
            triples[triple] = None
        kept = list(triples)
        pairs = finetuning_pairs(kept, config)
        rejects.parent.mkdir(parents=True, exist_ok=True)
        instances = ({"instruction": i, "input": x, "output": y} for i, x, y in kept)
        publish_all([
            (targets[0], (dump_line(record) for record in instances)),
            (targets[1], (dump_line(pair) for pair in pairs)),
            (targets[2], _json_list({"instruction": i, "input": x, "output": y} for i, x, y in kept)),
            (targets[3], (dump_line(chat_record(*triple)) for triple in kept)),
            (rejects, log.pending_rejects()),
        ])
    summary.counts["kept"] = len(kept)
    tasks = len({i for i, _, _ in kept})
    summary.note = f"{len(kept)} instances of {tasks} tasks; {len(pairs)} fine-tuning pairs"
    summary.outputs = tuple(str(path) for path in targets)
    progress.close()
    return summary


__all__ = ["REJECTS_DIR", "prepare_finetuning"]
