"""Step 1: instruction generation (self-instruct mode), in durable rounds.

Each prompt shows `num_prompt_instructions` pool instructions as a numbered list, shuffled: all
human at first, then machine-generated ones mixed in as they exist (8+0, 7+1, then 6+2 by
default). A completion is parsed into new instructions; a length-cut one is discarded whole (or
minus its last item with --keep-truncated); survivors of the instruction filters go to the ROUGE-L
pool. Output: machine_generated_instructions.jsonl in the reference's record format.
"""
from __future__ import annotations

import collections
import random

from ..backends.base import Backend, Completion, SamplingParams
from ..filters import check_instruction
from .common import INSTRUCTIONS_FILE
from .config import PipelineConfig
from .parsing import apply_truncation, parse_instruction_list, strip_cue_echo
from .progress import StepSummary
from .prompts import INSTRUCTION_HEADER, Prompt, instruction_prompt
from .rounds import AdmissionRounds, Candidate


class InstructionGenerator(AdmissionRounds):
    """Step 1 over an output directory; `run()` resumes whatever is committed there."""

    step = "instructions"
    title = "generate-instructions"
    data_file = INSTRUCTIONS_FILE
    settings_sections = ("instructions",)

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        super().__init__(config, backend)
        self.filters = config.filter_config()
        shown = [t for t in self.seeds if t.is_classification] if config.instructions.clf_seeds_only else self.seeds
        self.human = [task.instruction for task in shown]
        if not self.human:
            raise ValueError("--clf-seeds-only is set but the seed tasks have no classification task")

    def prompt_style(self) -> str:
        return self.config.instructions.prompt_style or self.config.prompt_style

    def build_prompts(self, rng: random.Random) -> list[Prompt]:
        cfg = self.config.instructions
        prompts = []
        for _ in range(self.config.prompts_per_round):
            machine = rng.sample(self.machine, min(cfg.num_machine_instructions, len(self.machine)))
            human = rng.sample(self.human, min(cfg.num_prompt_instructions - len(machine), len(self.human)))
            shown = machine + human
            rng.shuffle(shown)
            prompts.append(instruction_prompt(shown))
        return prompts

    def sampling(self, seed: int) -> SamplingParams:
        return self.config.instructions.sampling(seed)

    def candidates(self, prompt: Prompt, completion: Completion, counts: collections.Counter) -> list[Candidate]:
        text = strip_cue_echo(completion.text, prompt.cue)
        items = parse_instruction_list(text, capitalize=self.config.capitalize)
        items, dropped = apply_truncation(items, completion.finish_reason, not self.config.keep_truncated)
        if dropped:
            counts["dropped_truncated"] += dropped
        kept: list[Candidate] = []
        for item in items:
            reason = check_instruction(item, self.filters)
            if reason is None and item.rstrip(":").lower() == INSTRUCTION_HEADER.rstrip(":").lower():
                reason = "prompt_echo"  # small chat models repeat the request
            if reason is None:
                kept.append((item, {}))
            else:
                counts[f"dropped_{reason}"] += 1
        return kept


def generate_instructions(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) step 1 until `config.num_instructions` instructions are admitted."""
    return InstructionGenerator(config, backend).run()
