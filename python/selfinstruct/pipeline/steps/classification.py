"""Step 2: classification identification.

Every machine instruction (in step 1's order) gets a greedy few-shot yes/no answer; the raw
answer is saved as is_clf_or_not.jsonl {"instruction", "is_classification"} (the reference
format). A rerun only asks about instructions not answered yet (and picks up new ones if step 1
has grown).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

from ...backends.base import Backend, Completion
from ..config import PipelineConfig
from ..driver import Request
from ..files import CLF_FILE, INSTRUCTIONS_FILE
from ..inputs import PerInstructionStep, instructions
from ..parsing import parse_clf_answer
from ..progress import StepSummary
from ..prompts import clf_prompt
from ..seeding import sampling_seed

STEP = "classification"


class ClassificationStep(PerInstructionStep):
    name = STEP
    title = "identify-clf"
    unit = "instr"
    kept_key = "answered"
    settings_sections = ("classification",)
    input_file = INSTRUCTIONS_FILE

    @property
    def data_path(self) -> Path:
        return self.config.output_dir / CLF_FILE

    def batch_size(self) -> int:
        return self.config.classification.prompts_per_call

    def inputs(self) -> Iterator[dict[str, Any]]:
        return instructions(self.config)

    @staticmethod
    def instruction_of(item: dict[str, Any]) -> str:
        return item["instruction"]

    def build(self, index: int) -> Optional[Request]:
        record = self.next_input()
        if record is None:
            return None
        cfg = self.config.classification
        prompt = clf_prompt(record["instruction"], cfg.num_examples)
        seed = sampling_seed(self.config.seed, STEP, index)
        return Request(index, prompt.render(self.chat), cfg.sampling(seed), record["instruction"])

    def take(self, request: Request, completions: list[Completion]) -> list[dict[str, Any]]:
        answer = completions[0].text
        self.summary.counts["classification" if parse_clf_answer(answer) else "other"] += 1
        self.summary.counts["answered"] += 1
        self.log.batch.candidates += 1
        self.log.batch.admitted += 1
        return [{"instruction": request.context, "is_classification": answer}]


def identify_classification(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 2 over every instruction of step 1."""
    return ClassificationStep(config, backend).run()
