"""Alpaca mode: one prompt asks for whole (instruction, input, output) tasks, in durable rounds.

Each prompt shows `alpaca_demos` seed tasks (first instance each, "<noinput>" for an empty input)
and asks for `tasks_per_prompt` tasks in all. The completion is parsed into tasks; a length-cut
response loses its last task; an instruction goes through the same instruction filters (with the
Alpaca keyword list) and the ROUGE-L pool; a task without an output is dropped as incomplete.
Output: machine_generated_tasks.jsonl (instruction, input, output, most_similar,
avg_similarity_score, metadata, request_idx); step 4 turns it into alpaca.json and friends.
"""
from __future__ import annotations

import collections
import random

from ..backends.base import Backend, Completion, SamplingParams
from ..filters import check_instruction
from .common import ALPACA_TASKS_FILE
from .config import PipelineConfig
from .parsing import apply_truncation, parse_alpaca_tasks
from .progress import StepSummary
from .prompts import Prompt, alpaca_prompt
from .rounds import AdmissionRounds, Candidate

STEP = "alpaca"


class AlpacaGenerator(AdmissionRounds):
    """Alpaca-mode generation over an output directory; `run()` resumes what is committed there."""

    step = STEP
    title = "generate-tasks"
    data_file = ALPACA_TASKS_FILE
    settings_sections = ("alpaca",)

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        super().__init__(config, backend)
        self.filters = config.filter_config()
        self.demos = [(t.instruction, t.instances[0].input, t.instances[0].output) for t in self.seeds]

    def build_prompts(self, rng: random.Random) -> list[Prompt]:
        cfg = self.config.alpaca
        count = min(cfg.num_demonstrations, len(self.demos))
        return [alpaca_prompt(rng.sample(self.demos, count), cfg.tasks_per_prompt)
                for _ in range(self.config.prompts_per_round)]

    def sampling(self, seed: int) -> SamplingParams:
        return self.config.alpaca.sampling(seed)

    def candidates(self, prompt: Prompt, completion: Completion, counts: collections.Counter) -> list[Candidate]:
        tasks = parse_alpaca_tasks(completion.text, prompt.cue)
        tasks, dropped = apply_truncation(tasks, completion.finish_reason, discard_whole=False)
        if dropped:
            counts["dropped_truncated"] += dropped
        kept: list[Candidate] = []
        for instruction, inp, out in tasks:
            reason = check_instruction(instruction, self.filters)
            if reason is None and not out.strip():
                reason = "incomplete"
            if reason is None:
                kept.append((instruction, {"input": inp, "output": out}))
            else:
                counts[f"dropped_{reason}"] += 1
        return kept


def generate_alpaca_tasks(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) Alpaca-mode generation until `config.num_instructions` tasks are admitted."""
    return AlpacaGenerator(config, backend).run()
