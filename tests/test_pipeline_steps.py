"""The steps with a scripted backend: prompt mixing, admission, caps, resume, outputs."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

import pytest
from rouge_score import rouge_scorer

from selfinstruct.backends.base import Completion, SamplingParams
from selfinstruct.pipeline import (bootstrap, generate_instances, generate_instructions, identify_classification,
                                   prepare_finetuning)
from selfinstruct.pipeline.config import FinetuneConfig, PipelineConfig
from selfinstruct.pipeline.prompts import INSTRUCTION_HEADER, OUTPUT_FIRST_HEADER
from selfinstruct.pipeline.seeding import request_rng
from selfinstruct.pipeline.steps.instructions import InstructionGenerator

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_fakes import NOUNS, SEED_INSTRUCTIONS, TOPICS, VERBS, FakeBackend, small_config  # noqa: E402


@pytest.fixture()
def config(tmp_path: Path) -> PipelineConfig:
    return small_config(tmp_path)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Broken(FakeBackend):
    """Fails on call number `fail_at` (1-based), like an engine crash mid-run."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at

    def generate_with_seeds(self, prompts: Sequence[str], params: SamplingParams,
                            seeds: Sequence[int | None]) -> list[list[Completion]]:
        if len(self.calls) + 1 == self.fail_at:
            self.calls.append((list(prompts), params))
            raise RuntimeError("engine died")
        return super().generate_with_seeds(prompts, params, seeds)


def test_prompts_mix_human_then_machine_instructions(config: PipelineConfig) -> None:
    step = InstructionGenerator(config, FakeBackend())
    human = {text for text, _ in SEED_INSTRUCTIONS}
    for machine, expected in ((0, 0), (1, 1), (5, 2)):
        shown = [f"Machine task number {i} here." for i in range(machine)]
        for prompt in [step.make_prompt(request_rng(0, "instructions", index), shown) for index in range(4)]:
            items = [line.split(". ", 1)[1] for line in prompt.text.splitlines()[2:10]]
            assert len(items) == 8 and prompt.cue == "9."
            assert sum(item.startswith("Machine") for item in items) == expected
            assert sum(item in human for item in items) == 8 - expected


def test_step1_one_call_per_round_and_exact_target(config: PipelineConfig) -> None:
    backend = FakeBackend()
    summary = generate_instructions(config, backend)
    records = lines(config.output_dir / "machine_generated_instructions.jsonl")
    assert len(records) == 30 == summary.counts["admitted"]
    assert all(len(prompts) == 4 for prompts, _ in backend.calls)
    seeds = [seed for call in backend.seeds for seed in call]
    assert len(set(seeds)) == len(seeds)  # a seed per request
    assert [r["request_idx"] for r in records] == sorted(r["request_idx"] for r in records)
    assert max(r["request_idx"] for r in records) == len(backend.calls) - 1
    state = lines(config.output_dir / "state" / "instructions.jsonl")
    assert state[0]["step"] == "instructions" and -(-state[-1]["state"]["next_request"] // 4) == len(backend.calls)
    assert set(records[0]) == {"instruction", "most_similar", "avg_similarity_score", "metadata", "request_idx"}


def test_step1_similarity_fields_match_rouge_score(config: PipelineConfig) -> None:
    generate_instructions(config, FakeBackend())
    records = lines(config.output_dir / "machine_generated_instructions.jsonl")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pool = [text for text, _ in SEED_INSTRUCTIONS]
    for record in records:
        scores = [scorer.score(record["instruction"], other)["rougeL"].fmeasure for other in pool]
        assert max(scores) <= 0.7
        assert record["avg_similarity_score"] == pytest.approx(sum(scores) / len(scores), abs=1e-12)
        top = sorted(scores, reverse=True)[:10]
        assert sorted(record["most_similar"].values(), reverse=True) == pytest.approx(top, abs=0)
        pool.append(record["instruction"])


def test_step1_similarity_fields_can_be_turned_off(config: PipelineConfig) -> None:
    with_fields = generate_instructions(config, FakeBackend())
    plain = dataclasses.replace(config, output_dir=config.output_dir.with_name("plain"), similarity_fields=False)
    without = generate_instructions(plain, FakeBackend())
    full = lines(config.output_dir / "machine_generated_instructions.jsonl")
    lean = lines(plain.output_dir / "machine_generated_instructions.jsonl")
    assert [r["instruction"] for r in lean] == [r["instruction"] for r in full]  # same admissions
    assert set(lean[0]) == {"instruction", "metadata", "request_idx"}
    assert without.counts["admitted"] == with_fields.counts["admitted"]


def test_step1_stops_when_nothing_new_comes(config: PipelineConfig) -> None:
    class Parrot(FakeBackend):
        def answer(self, prompt: str, params: SamplingParams, seed: int | None) -> list[Completion]:
            return [Completion(" Explain why the sky looks blue during the day.", "stop")]

    config = PipelineConfig(**{**config.__dict__, "max_stalled_rounds": 3})
    summary = generate_instructions(config, Parrot())
    assert summary.counts["admitted"] == 0 and "3 rounds" in summary.note
    assert summary.counts["dropped_too_similar"] == 12


@pytest.mark.parametrize("keep", [False, True])
def test_step1_length_cut_responses(config: PipelineConfig, keep: bool) -> None:
    class Cut(FakeBackend):
        def generate_with_seeds(self, prompts: Sequence[str], params: SamplingParams,
                                seeds: Sequence[int | None]) -> list[list[Completion]]:
            self.calls.append((list(prompts), params))
            n = len(self.calls)
            return [[Completion(f" {VERBS[i]} {NOUNS[n]} {TOPICS[i + n]}.\n10. Compose a tune {n} {i}", "length")]
                    for i in range(len(prompts))]

    config = PipelineConfig(**{**config.__dict__, "keep_truncated": keep, "num_instructions": 3, "max_stalled_rounds": 2})
    summary = generate_instructions(config, Cut())
    if keep:
        assert summary.counts["admitted"] == 3 and summary.counts["dropped_truncated"] >= 3
        records = lines(config.output_dir / "machine_generated_instructions.jsonl")
        assert not any("Compose" in r["instruction"] for r in records)
    else:
        assert summary.counts["admitted"] == 0 and summary.counts["dropped_truncated"] == 2 * 2 * 4


def test_steps_2_and_3_resume_after_a_failure(config: PipelineConfig) -> None:
    generate_instructions(config, FakeBackend())
    config = PipelineConfig(**{**config.__dict__})
    small = PipelineConfig(**{**config.__dict__, "classification": config.classification.__class__(prompts_per_call=7)})
    with pytest.raises(RuntimeError, match="engine died"):
        identify_classification(small, Broken(fail_at=3))
    assert len(lines(small.output_dir / "is_clf_or_not.jsonl")) == 14
    rest = FakeBackend()
    identify_classification(small, rest)
    assert sum(len(p) for p, _ in rest.calls) == 30 - 14  # only what was missing
    clf = lines(small.output_dir / "is_clf_or_not.jsonl")
    assert [r["instruction"] for r in clf] == [r["instruction"] for r in lines(small.output_dir / "machine_generated_instructions.jsonl")]

    with pytest.raises(RuntimeError):
        generate_instances(small, Broken(fail_at=2))
    rest = FakeBackend()
    generate_instances(small, rest)
    instances = lines(small.output_dir / "machine_generated_instances.jsonl")
    assert [r["instruction"] for r in instances] == [r["instruction"] for r in clf]
    assert len({r["instruction"] for r in instances}) == 30


def test_step3_prompt_kind_and_budget_follow_classification(config: PipelineConfig) -> None:
    generate_instructions(config, FakeBackend())
    identify_classification(config, FakeBackend())
    backend = FakeBackend()
    generate_instances(config, backend)
    clf = {r["instruction"]: r["is_classification"].strip() == "Yes" for r in lines(config.output_dir / "is_clf_or_not.jsonl")}
    for prompts, params in backend.calls:
        for prompt in prompts:
            labelled = prompt.startswith(OUTPUT_FIRST_HEADER)
            assert params.max_tokens == (300 if labelled else 350) and params.temperature == 0
            instruction = prompt.rstrip("\n").rsplit("Task: ", 1)[1]
            assert clf[instruction] is labelled
    records = lines(config.output_dir / "machine_generated_instances.jsonl")
    assert {"instruction", "raw_instances", "instance_metadata", "instruction_metadata", "most_similar",
            "avg_similarity_score"} <= set(records[0])


def test_step4_outputs(config: PipelineConfig) -> None:
    bootstrap(config, backend=FakeBackend())
    out = config.output_dir
    instances = lines(out / "all_generated_instances.jsonl")
    assert instances and all(set(r) == {"instruction", "input", "output"} for r in instances)
    per_task: dict[str, int] = {}
    for r in instances:
        per_task[r["instruction"]] = per_task.get(r["instruction"], 0) + 1
        assert r["output"] and r["input"] != r["output"]
    assert max(per_task.values()) <= 5
    pairs = lines(out / "finetuning.jsonl")
    assert all(set(p) == {"prompt", "completion"} and p["completion"].endswith("<|endoftext|>") for p in pairs)
    assert len({(p["prompt"], p["completion"]) for p in pairs}) == len(pairs)
    alpaca = json.loads((out / "alpaca.json").read_text())
    assert alpaca == instances
    chat = lines(out / "chat.jsonl")
    assert [m["role"] for m in chat[0]["messages"]] == ["user", "assistant"] and len(chat) == len(instances)
    before = (out / "finetuning.jsonl").read_bytes()
    prepare_finetuning(config)
    assert (out / "finetuning.jsonl").read_bytes() == before  # deterministic for a seed


def test_step4_includes_seed_tasks_on_request(config: PipelineConfig) -> None:
    bootstrap(config, backend=FakeBackend())
    with_seeds = PipelineConfig(**{**config.__dict__, "finetuning": FinetuneConfig(include_seed_tasks=True)})
    summary = prepare_finetuning(with_seeds)
    instances = lines(config.output_dir / "all_generated_instances.jsonl")
    assert instances[0]["instruction"] == SEED_INSTRUCTIONS[0][0]
    assert summary.counts["kept"] == len(instances)


def test_alpaca_mode(config: PipelineConfig) -> None:
    config = PipelineConfig(**{**config.__dict__, "mode": "alpaca"})
    backend = FakeBackend()
    summaries = bootstrap(config, backend=backend)
    assert [s.step for s in summaries] == ["generate-tasks", "prepare-finetuning"]
    tasks = lines(config.output_dir / "machine_generated_tasks.jsonl")
    assert len(tasks) == 30 and all({"instruction", "input", "output", "most_similar"} <= set(t) for t in tasks)
    prompt = backend.calls[0][0][0]
    assert prompt.count("<noinput>") + prompt.count(". Input:\n") >= 3 and prompt.endswith("###\n4. Instruction:")
    alpaca = json.loads((config.output_dir / "alpaca.json").read_text())
    assert alpaca and all(set(a) == {"instruction", "input", "output"} for a in alpaca)
    assert not (config.output_dir / "is_clf_or_not.jsonl").exists()
    before = (config.output_dir / "alpaca.json").read_bytes()
    prepare_finetuning(PipelineConfig(**{**config.__dict__, "mode": "self-instruct"}))  # the directory says alpaca
    assert (config.output_dir / "alpaca.json").read_bytes() == before


def test_chat_prompt_style_uses_the_backend_template(config: PipelineConfig) -> None:
    class Chatty(FakeBackend):
        def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
            return f"<|user|>{messages[0]['content']}<|assistant|>"

        def answer(self, prompt: str, params: SamplingParams, seed: int | None) -> list[Completion]:
            assert prompt.startswith("<|user|>")
            return super().answer(prompt[len("<|user|>"):], params, seed)

    config = PipelineConfig(**{**config.__dict__, "prompt_style": "chat", "num_instructions": 5})
    generate_instructions(config, Chatty())
    record = lines(config.output_dir / "machine_generated_instructions.jsonl")[0]
    assert record["metadata"]["prompt"].startswith("<|user|>" + INSTRUCTION_HEADER)
    assert record["metadata"]["prompt"].endswith("<|assistant|>9.")
    with pytest.raises(ValueError, match="cannot apply a chat template"):
        bootstrap(config, backend=FakeBackend())


def test_steps_need_their_inputs(config: PipelineConfig) -> None:
    with pytest.raises(FileNotFoundError, match="generate-instructions"):
        identify_classification(config, FakeBackend())


def test_public_api() -> None:
    import selfinstruct.pipeline as api

    for name in ("PipelineConfig", "bootstrap", "generate_instructions", "identify_classification",
                 "generate_instances", "prepare_finetuning", "generate_alpaca_tasks", "StepSummary"):
        assert hasattr(api, name), name


def test_step1_adopts_a_reference_file_and_continues(config: PipelineConfig) -> None:
    config.output_dir.mkdir(parents=True)
    old = [{"instruction": f"Describe a walk through a quiet {place} at dawn.", "most_similar": {}, "avg_similarity_score": 0.0,
            "metadata": {"prompt": "p", "response": "r", "finish_reason": "stop"}, "request_idx": k}
           for k, place in enumerate(["forest", "harbour", "desert"])]
    (config.output_dir / "machine_generated_instructions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    generate_instructions(config, FakeBackend())
    records = lines(config.output_dir / "machine_generated_instructions.jsonl")
    assert len(records) == 30 and [r["instruction"] for r in records[:3]] == [r["instruction"] for r in old]
    assert records[1]["most_similar"] and records[1]["request_idx"] == 1  # fields recomputed, request kept


def test_top_entries_match_a_full_sort() -> None:
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from selfinstruct.pipeline.similarity import top_entries

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0]), max_size=40), st.integers(1, 12))
    def check(values: list[float], k: int) -> None:
        scores = np.array(values, dtype=np.float64)
        expected = sorted(range(len(values)), key=lambda j: (-values[j], j))[:k]
        assert top_entries(scores, k).tolist() == expected

    check()
