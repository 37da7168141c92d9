"""Durable generate -> parse -> filter -> admit rounds, shared by step 1 and the Alpaca mode.

A round builds `prompts_per_round` prompts with the round's own RNG, makes one backend call,
turns each completion into candidates (the subclass parses and filters, counting reasons), admits
them through the exact ROUGE-L pool (seeds plus everything admitted before, earlier candidates of
the same round included) and commits the admitted records with the round counter and counters.
The RNG and the sampling seed of round r depend only on (run seed, step, r), and the pool is
rebuilt from the data file, so a resumed run makes exactly the rounds an uninterrupted one makes.
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .. import Pool
from ..backends.base import Backend, Completion, SamplingParams
from .common import chat_formatter, generate, load_seeds, state_path, step_settings
from .config import PipelineConfig
from .progress import StepProgress, StepSummary
from .prompts import Prompt
from .state import Journal, derive_seed, round_rng

Candidate = tuple[str, dict[str, Any]]  # (instruction, extra record fields)


def similarity_record(pool: Pool, text: str, index: int, top: int = 10) -> dict[str, Any]:
    """most_similar (top pool entries -> F) and avg_similarity_score of the instruction admitted at
    `index`, over the pool just before it (seeds and earlier admissions), as the reference computes."""
    scores = pool.scores(text)[:index]
    if not len(scores):
        return {"most_similar": {}, "avg_similarity_score": 0.0}
    order = np.lexsort((np.arange(len(scores)), -scores))[:top]
    return {
        "most_similar": {pool[int(j)]: float(scores[j]) for j in order},
        "avg_similarity_score": float(np.mean(scores)),
    }


class AdmissionRounds:
    """Base of a round-based generation step; subclasses say how to prompt and how to parse."""

    step = ""
    title = ""
    data_file = ""
    settings_sections: tuple[str, ...] = ()

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        self.config = config
        self.backend = backend
        self.chat = chat_formatter(backend, self.prompt_style())
        self.seeds = load_seeds(config)
        self.machine: list[str] = []

    # -- what subclasses provide -------------------------------------------------------------
    def prompt_style(self) -> str:
        return self.config.prompt_style

    def build_prompts(self, rng: Any) -> list[Prompt]:
        raise NotImplementedError

    def sampling(self, seed: int) -> SamplingParams:
        raise NotImplementedError

    def candidates(self, prompt: Prompt, completion: Completion, counts: collections.Counter) -> list[Candidate]:
        raise NotImplementedError

    # -- the loop ----------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.config.output_dir / self.data_file

    def run(self) -> StepSummary:
        """Run rounds until `num_instructions` are admitted (or too many rounds admit nothing)."""
        config = self.config
        summary = StepSummary(self.title, kept_key="admitted")
        settings = step_settings(config, *self.settings_sections)
        with Journal(self.step, self.data_path, state_path(config, self.step), settings) as journal:
            records, state = journal.recover(adopt=_adopt)
            state = state or {"next_round": 0, "stalled": 0, "counts": {}}
            self.machine = [record["instruction"] for record in records]
            self.pool = Pool([t.instruction for t in self.seeds] + self.machine,
                             threshold=config.similarity_threshold, tokenizer=config.similarity_tokenizer)
            summary.counts.update(state["counts"])
            summary.counts["admitted"] = len(self.machine)
            round_index, stalled = state["next_round"], state["stalled"]
            target = config.num_instructions
            progress = StepProgress(summary, target, min(len(self.machine), target), config.progress, unit="instr")
            try:
                while len(self.machine) < target:
                    if config.max_stalled_rounds and stalled >= config.max_stalled_rounds:
                        summary.note = f"stopped early: {stalled} rounds in a row admitted nothing (--max-stalled-rounds)"
                        break
                    new = self.run_round(round_index, summary.counts, progress)
                    stalled = 0 if new else stalled + 1
                    round_index += 1
                    journal.commit(new, {"next_round": round_index, "stalled": stalled, "counts": dict(summary.counts)})
                    progress.advance(len(new))
            finally:
                progress.close()
        summary.outputs = (str(self.data_path),)
        return summary

    def run_round(self, round_index: int, counts: collections.Counter, progress: Optional[StepProgress] = None) -> list[dict[str, Any]]:
        """One round: prompts, one backend call, candidates, admission; returns the new records."""
        prompts = self.build_prompts(round_rng(self.config.seed, self.step, round_index))
        rendered = [prompt.render(self.chat) for prompt in prompts]
        params = self.sampling(derive_seed(self.config.seed, self.step, "sample", round_index))
        results = generate(self.backend, rendered, params, progress)
        found: list[tuple[Candidate, str, Completion]] = []
        for prompt, text, group in zip(prompts, rendered, results):
            for completion in group:
                found.extend((candidate, text, completion) for candidate in self.candidates(prompt, completion, counts))
        decisions = self.pool.admit([instruction for (instruction, _), _, _ in found])
        admitted = [(item, d.index) for item, d in zip(found, decisions) if d.admitted]
        counts["dropped_too_similar"] += len(found) - len(admitted)
        room = self.config.num_instructions - len(self.machine)
        if len(admitted) > room:  # the target is reached within this round: keep the first ones only
            counts["surplus"] += len(admitted) - room
            self.pool.truncate(admitted[room][1])
            admitted = admitted[:room]
        records = []
        for ((instruction, extra), prompt_text, completion), index in admitted:
            records.append({
                "instruction": instruction,
                **extra,
                **(similarity_record(self.pool, instruction, index) if self.config.similarity_fields else {}),
                "metadata": {"prompt": prompt_text, "response": completion.text,
                             "finish_reason": completion.finish_reason},
                "request_idx": round_index,
            })
            self.machine.append(instruction)
        counts["admitted"] = len(self.machine)
        return records


def _adopt(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Resume state for a reference-format file found without our state file."""
    last = max((int(r.get("request_idx", -1)) for r in records), default=-1)
    return {"next_round": last + 1, "stalled": 0, "counts": {}}
