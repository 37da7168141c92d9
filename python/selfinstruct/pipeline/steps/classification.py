"""Step 2: classification identification, in durable batches.

Every machine instruction (in step 1's order) gets a greedy few-shot yes/no answer; the raw
answer is saved as is_clf_or_not.jsonl {"instruction", "is_classification"} (the reference
format) and each batch is committed to state/classification.jsonl, so a rerun only asks about
instructions not answered yet (and picks up new ones if step 1 has grown).
"""
from __future__ import annotations

from typing import Any

from ..backends.base import Backend
from .common import (CLF_FILE, INSTRUCTIONS_FILE, chat_formatter, generate, read_step_output, state_path,
                     step_settings)
from .config import PipelineConfig
from .parsing import parse_clf_answer
from .progress import StepProgress, StepSummary
from .prompts import clf_prompt
from .state import Journal, derive_seed

STEP = "classification"


def read_instructions(config: PipelineConfig) -> list[dict[str, Any]]:
    """Step 1's committed records."""
    return read_step_output(config, "instructions", INSTRUCTIONS_FILE, "run `selfinstruct generate-instructions` first")


def check_prefix(done: list[dict[str, Any]], instructions: list[str], data_file: str) -> None:
    """A resumed step must continue the same input: its records match the first inputs, in order."""
    for position, record in enumerate(done):
        if position >= len(instructions) or record.get("instruction") != instructions[position]:
            raise RuntimeError(
                f"{data_file} line {position + 1} does not match instruction {position + 1} of {INSTRUCTIONS_FILE}: "
                f"its input changed; delete it and its state file to redo this step"
            )


def identify_classification(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 2 over every instruction of step 1."""
    chat = chat_formatter(backend, config.prompt_style)
    cfg = config.classification
    instructions = [record["instruction"] for record in read_instructions(config)]
    summary = StepSummary("identify-clf", kept_key="answered")
    data_path = config.output_dir / CLF_FILE
    with Journal(STEP, data_path, state_path(config, STEP), step_settings(config, "classification")) as journal:
        done, state = journal.recover(adopt=lambda records: {"next_batch": 0, "counts": {}})
        check_prefix(done, instructions, CLF_FILE)
        summary.counts.update((state or {}).get("counts", {}))
        progress = StepProgress(summary, len(instructions), len(done), config.progress, unit="instr")
        try:
            position, batch_index = len(done), (state or {}).get("next_batch", 0)
            while position < len(instructions):
                batch = instructions[position: position + cfg.prompts_per_call]
                prompts = [clf_prompt(text, cfg.num_examples) for text in batch]
                params = cfg.sampling(derive_seed(config.seed, STEP, batch_index))
                results = generate(backend, [p.render(chat) for p in prompts], params, progress)
                records = [{"instruction": text, "is_classification": group[0].text} for text, group in zip(batch, results)]
                for record in records:
                    summary.counts["classification" if parse_clf_answer(record["is_classification"]) else "other"] += 1
                summary.counts["answered"] += len(records)
                position += len(batch)
                batch_index += 1
                journal.commit(records, {"next_batch": batch_index, "counts": dict(summary.counts)})
                progress.advance(len(batch))
        finally:
            progress.close()
    summary.outputs = (str(data_path),)
    return summary


def read_clf_decisions(config: PipelineConfig) -> dict[str, bool]:
    """instruction -> is classification, from step 2's file (missing file: empty)."""
    records = read_step_output(config, STEP, CLF_FILE)
    return {r["instruction"]: parse_clf_answer(str(r.get("is_classification", ""))) for r in records}
