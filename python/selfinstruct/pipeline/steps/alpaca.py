"""Alpaca mode: one prompt asks for whole (instruction, input, output) tasks.

Each prompt shows `alpaca_demos` seed tasks (first instance each, "<noinput>" for an empty input)
and asks for `tasks_per_prompt` tasks in all. The completion is parsed into tasks; a length-cut
response loses its last task; an instruction goes through the same instruction filters (with the
Alpaca keyword list) and the ROUGE-L pool (see admission.py); a task without an output is dropped
as incomplete. Output: machine_generated_tasks.jsonl (instruction, input, output, most_similar,
avg_similarity_score, metadata, request_idx); step 4 turns it into alpaca.json and friends.
"""
from __future__ import annotations

import random
from typing import Optional

from ...backends.base import Backend, Completion, SamplingParams
from ..admission import AdmissionStep, Candidate
from ..config import PipelineConfig
from ..files import ALPACA_TASKS_FILE
from ..parsing import apply_truncation, parse_alpaca_tasks
from ..progress import StepSummary
from ..prompts import Prompt, alpaca_prompt

STEP = "alpaca"


def render_task(instruction: str, inp: str, out: str) -> str:
    """A task as one text, for the rejects log."""
    return f"Instruction: {instruction}\nInput: {inp}\nOutput: {out}"


class AlpacaGenerator(AdmissionStep):
    """Alpaca-mode generation over an output directory; `run()` resumes what is committed there."""

    name = STEP
    title = "generate-tasks"
    output_file = ALPACA_TASKS_FILE
    settings_sections = ("alpaca",)

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        super().__init__(config, backend)
        self.demos = [(t.instruction, t.instances[0].input, t.instances[0].output) for t in self.seeds]

    def make_prompt(self, rng: random.Random, machine: list[str], visible: Optional[int] = None) -> Prompt:
        cfg = self.config.alpaca
        return alpaca_prompt(rng.sample(self.demos, min(cfg.num_demonstrations, len(self.demos))), cfg.tasks_per_prompt)

    def sampling(self, seed: int) -> SamplingParams:
        return self.config.alpaca.sampling(seed)

    def candidates(self, prompt: Prompt, completion: Completion, request: int) -> list[Candidate]:
        tasks = parse_alpaca_tasks(completion.text, prompt.cue)
        kept, _ = apply_truncation(tasks, completion.finish_reason, discard_whole=False)
        for task in tasks[len(kept):]:
            self.log.reject("truncated", render_task(*task), request)
        out: list[Candidate] = []
        for instruction, inp, output in kept:
            reason = self.filter.check(instruction)
            if reason is None and not output.strip():
                reason = "incomplete"
            if reason is None:
                out.append((instruction, {"input": inp, "output": output}))
            else:
                self.log.reject(reason, render_task(instruction, inp, output), request)
        return out


def generate_alpaca_tasks(config: PipelineConfig, backend: Backend) -> StepSummary:
    """Run (or resume) Alpaca-mode generation until `config.num_instructions` tasks are admitted."""
    return AlpacaGenerator(config, backend).run()
