"""Step 1: instruction generation (self-instruct mode).

Each prompt shows `num_prompt_instructions` pool instructions as a numbered list, shuffled: all
human at first, then machine-generated ones mixed in as they exist (8+0, 7+1, then 6+2 by
default). A completion is parsed into new instructions; a length-cut one is discarded whole (or
minus its last item with --keep-truncated); survivors of the instruction filters go to the ROUGE-L
pool (see admission.py). Output: machine_generated_instructions.jsonl in the reference's format.
"""
from __future__ import annotations

import random
from typing import Optional, Sequence

from ...backends.base import Backend, Completion, SamplingParams
from ..admission import AdmissionStep, Candidate
from ..config import PipelineConfig
from ..files import INSTRUCTIONS_FILE
from ..parsing import apply_truncation, parse_instruction_list, strip_cue_echo
from ..progress import StepSummary
from ..prompts import INSTRUCTION_HEADER, Prompt, clean_instruction, cleaned_instruction_prompt


class InstructionGenerator(AdmissionStep):
    """Step 1 over an output directory; `run()` resumes whatever is committed there."""

    name = "instructions"
    title = "generate-instructions"
    output_file = INSTRUCTIONS_FILE
    settings_sections = ("instructions",)

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        super().__init__(config, backend)
        shown = [t for t in self.seeds if t.is_classification] if config.instructions.clf_seeds_only else self.seeds
        self.human = [task.instruction for task in shown]
        if not self.human:
            raise ValueError("--clf-seeds-only is set but the seed tasks have no classification task")
        self._human_cleaned = [clean_instruction(text) for text in self.human]  # as prompts show them
        self._echo = INSTRUCTION_HEADER.rstrip(":").lower()

    def prompt_style(self) -> str:
        return self.config.instructions.prompt_style or self.config.prompt_style

    def make_prompt(self, rng: random.Random, machine: Sequence[str], visible: Optional[int] = None) -> Prompt:
        cfg = self.config.instructions
        visible = len(machine) if visible is None else visible
        chosen = rng.sample(range(visible), min(cfg.num_machine_instructions, visible))  # as sampling machine[:visible]
        shown = [clean_instruction(machine[j]) for j in chosen]
        # the same draw as sampling self.human (same length), of the seeds cleaned once
        shown += rng.sample(self._human_cleaned, min(cfg.num_prompt_instructions - len(shown), len(self.human)))
        rng.shuffle(shown)
        return cleaned_instruction_prompt(shown)

    def sampling(self, seed: int) -> SamplingParams:
        return self.config.instructions.sampling(seed)

    def candidates(self, prompt: Prompt, completion: Completion, request: int) -> list[Candidate]:
        text = strip_cue_echo(completion.text, prompt.cue)
        items = parse_instruction_list(text, capitalize=self.config.capitalize)
        kept, _ = apply_truncation(items, completion.finish_reason, not self.config.keep_truncated)
        for item in items[len(kept):]:
            self.log.reject("truncated", item, request)
        out: list[Candidate] = []
        for item in kept:
            reason = self.filter.check(item)
            if reason is None and item.rstrip(":").lower() == self._echo:
                reason = "prompt_echo"  # small chat models repeat the request
            if reason is None:
                out.append((item, {}))
            else:
                self.log.reject(reason, item, request)
        return out


def generate_instructions(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 1 until `config.num_instructions` instructions are admitted."""
    return InstructionGenerator(config, backend).run()
