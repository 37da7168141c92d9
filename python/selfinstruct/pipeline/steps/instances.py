"""Step 3: instance generation.

Each machine instruction whose classification is known gets one greedy completion: input-first
for ordinary tasks, output-first ("Class label: ...", then an input) for classification tasks.
The completion is parsed into (input, output) instances here; a length-cut response loses its
last one, and the instance filters drop invalid, conflicting and duplicate ones (each logged with
its reason). Records follow the reference's machine_generated_instances.jsonl (the raw text is
kept) plus `is_classification` and `instances`, the kept [{"input", "output"}], which step 4 uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

from ...backends.base import Backend, Completion
from ..config import PipelineConfig
from ..driver import Request
from ..files import CLF_FILE, INSTANCES_FILE
from ..inputs import PerInstructionStep, classified_instructions
from ..instance_filters import InstanceFilter
from ..parsing import apply_truncation, parse_instances
from ..progress import StepSummary
from ..prompts import instance_prompt
from ..seeding import sampling_seed

STEP = "instances"


def render_instance(instruction: str, instance: tuple[str, str]) -> str:
    """An instance as one text, for the rejects log."""
    return f"{instruction}\nInput: {instance[0]}\nOutput: {instance[1]}"


class InstanceStep(PerInstructionStep):
    name = STEP
    title = "generate-instances"
    unit = "task"
    kept_key = "tasks"
    settings_sections = ("classification", "instances")
    input_file = CLF_FILE

    @property
    def data_path(self) -> Path:
        return self.config.output_dir / INSTANCES_FILE

    def batch_size(self) -> int:
        return self.config.instances.prompts_per_call

    def inputs(self) -> Iterator[tuple[dict[str, Any], bool]]:
        return classified_instructions(self.config)

    @staticmethod
    def instruction_of(item: tuple[dict[str, Any], bool]) -> str:
        return item[0]["instruction"]

    def build(self, index: int) -> Optional[Request]:
        pair = self.next_input()
        if pair is None:
            return None
        task, classification = pair
        cfg = self.config.instances
        prompt = instance_prompt(task["instruction"], classification, cfg.num_demonstrations)
        seed = sampling_seed(self.config.seed, STEP, index)
        return Request(index, prompt.render(self.chat), cfg.sampling(seed, classification), pair)

    def take(self, request: Request, completions: list[Completion]) -> list[dict[str, Any]]:
        task, classification = request.context
        instruction = task["instruction"]
        completion = completions[0]
        log = self.log

        def dropped(reason: str, instance: tuple[str, str]) -> None:
            log.reject(reason, render_instance(instruction, instance), request.index)

        found = parse_instances(completion.text, classification)
        if not found:
            log.reject("unparsed_task", f"{instruction}\n{completion.text}", request.index)
        filters = InstanceFilter(cap=None, on_drop=dropped)
        pairs, _ = apply_truncation(found, completion.finish_reason, discard_whole=False)
        filters.drop("truncated", found[len(pairs):])
        kept = filters(pairs)
        log.batch.candidates += len(found)
        log.batch.admitted += len(kept)
        self.summary.counts["length_cut" if completion.finish_reason == "length" else "complete"] += 1
        self.summary.counts["tasks"] += 1
        self.summary.counts["instances"] += len(kept)
        return [{
            "instruction": instruction,
            "raw_instances": completion.text,
            "instance_metadata": {"prompt": request.prompt, "response": completion.text,
                                  "finish_reason": completion.finish_reason},
            "instruction_metadata": task.get("metadata", {}),
            "most_similar": task.get("most_similar", {}),
            "avg_similarity_score": task.get("avg_similarity_score"),
            "is_classification": classification,
            "instances": [{"input": inp, "output": out} for inp, out in kept],
        }]

    def advanced(self, records: list[dict[str, Any]]) -> int:
        return 1


def generate_instances(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 3 for every instruction that step 2 has classified."""
    return InstanceStep(config, backend).run()
