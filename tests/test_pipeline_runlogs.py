"""Run logs (rejects/<step>.jsonl, progress.jsonl), step 4's lock and atomic publishing, similarity
field options, and a finished run that does not load a model again."""
from __future__ import annotations

import collections
import dataclasses
import json
import multiprocessing
import sys
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

import selfinstruct.pipeline.runner as runner
from selfinstruct.pipeline import bootstrap, generate_instructions, prepare_finetuning
from selfinstruct.pipeline.config import PipelineConfig
from selfinstruct.pipeline import publish, similarity

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_fakes import FakeBackend, StreamingFakeBackend, small_config  # noqa: E402

STEPS = ("generate-instructions", "identify-clf", "generate-instances")


@pytest.fixture()
def config(tmp_path: Path) -> PipelineConfig:
    return small_config(tmp_path)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("backend", [FakeBackend, StreamingFakeBackend])
def test_rejects_log_every_drop_with_its_reason(config: PipelineConfig, backend: type) -> None:
    summaries = {s.step: s for s in bootstrap(config, backend=backend())}
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    for step in (*STEPS, "prepare-finetuning"):
        path = config.output_dir / "rejects" / f"{step}.jsonl"
        rejects = lines(path) if path.exists() else []
        logged = collections.Counter(f"dropped_{r['reason']}" for r in rejects)
        counted = {key: n for key, n in summaries[step].counts.items() if key.startswith("dropped_") and n}
        assert logged == counted, step
        for reject in rejects:
            assert set(reject) == {"step", "reason", "text", "request", "most_similar", "score"}
            assert reject["step"] == step and reject["text"]
            if reject["reason"] == "too_similar":
                score = scorer.score(reject["most_similar"], reject["text"])["rougeL"].fmeasure
                assert reject["score"] == score > 0.7
            else:
                assert reject["most_similar"] is None and reject["score"] is None
    assert summaries["generate-instructions"].counts["dropped_too_similar"] > 0


def test_progress_has_one_line_per_batch(config: PipelineConfig) -> None:
    bootstrap(config, backend=FakeBackend())
    progress = lines(config.output_dir / "progress.jsonl")
    by_step = collections.defaultdict(list)
    for line in progress:
        assert set(line) == {"step", "batch", "pool_size", "candidates", "admitted", "dropped", "prompt_tokens",
                             "completion_tokens", "seconds", "cpu_seconds"}
        assert line["cpu_seconds"] >= 0
        by_step[line["step"]].append(line)
    first = by_step["generate-instructions"]
    assert [line["batch"] for line in first] == list(range(len(first)))
    assert sum(line["admitted"] for line in first) == 30 == first[-1]["pool_size"]
    for line in first:
        assert line["candidates"] == line["admitted"] + sum(line["dropped"].values())
        assert line["completion_tokens"] > 0 and line["prompt_tokens"] > 0
    assert sum(line["admitted"] for line in by_step["identify-clf"]) == 30
    assert [line["pool_size"] for line in by_step["generate-instances"]][-1] == 30


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("backend", [FakeBackend, StreamingFakeBackend])
def test_similarity_fields_are_exact_whichever_path_computes_them(config: PipelineConfig, backend: type,
                                                                  background: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Computed in the driver's idle time, on a background thread, or after the loop: the same values."""
    monkeypatch.setattr(similarity, "BACKGROUND_MIN_CORES", 1 if background else 10**6)
    generate_instructions(config, backend())
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pool = [json.loads(line)["instruction"] for line in config.seed_tasks.read_text().splitlines()]
    for record in lines(config.output_dir / "machine_generated_instructions.jsonl"):
        scores = [scorer.score(record["instruction"], other)["rougeL"].fmeasure for other in pool]
        order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))[:10]
        assert record["most_similar"] == {pool[j]: scores[j] for j in order}
        assert record["avg_similarity_score"] == pytest.approx(sum(scores) / len(scores), abs=1e-12)
        pool.append(record["instruction"])


def test_sampled_similarity_is_an_estimate_over_earlier_entries(config: PipelineConfig) -> None:
    generate_instructions(config, FakeBackend())
    exact = lines(config.output_dir / "machine_generated_instructions.jsonl")
    sampled_config = dataclasses.replace(config, output_dir=config.output_dir.with_name("sampled"), similarity_sample=5)
    generate_instructions(sampled_config, FakeBackend())
    sampled = lines(sampled_config.output_dir / "machine_generated_instructions.jsonl")
    assert [r["instruction"] for r in sampled] == [r["instruction"] for r in exact]
    seeds = {json.loads(line)["instruction"] for line in config.seed_tasks.read_text().splitlines()}
    for position, (mine, theirs) in enumerate(zip(sampled, exact)):
        assert len(mine["most_similar"]) <= 5
        earlier = seeds | {r["instruction"] for r in exact[:position]}
        assert set(mine["most_similar"]) <= earlier
        for text, score in mine["most_similar"].items():
            assert score <= max(theirs["most_similar"].values())


def test_a_finished_run_loads_no_model(config: PipelineConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap(config, backend=FakeBackend())
    before = {p: p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file() and p.name != "progress.jsonl"}

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished run must not load a model")

    monkeypatch.setattr(runner, "make_backend", no_model)
    summaries = bootstrap(config)
    assert [s.note for s in summaries[:3]] == ["nothing to do: already complete"] * 3
    after = {p: p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file() and p.name != "progress.jsonl"}
    assert after == before
    assert not list(config.output_dir.rglob("*.lock")), "lock files are removed when a run ends"
    for step in STEPS[1:]:  # each step alone finds its own work done too
        assert runner.run_steps(config, [step])[0].note == "nothing to do: already complete"
    grown = dataclasses.replace(config, num_instructions=35)
    assert runner.pending_steps(grown, list(STEPS)) == list(STEPS)
    monkeypatch.undo()
    generate_instructions(grown, FakeBackend())  # step 1 grows: steps 2 and 3 have work again
    assert runner.pending_steps(grown, list(STEPS)) == list(STEPS[1:])
    assert runner.pending_steps(grown, ["generate-instances"]) == []  # waits for step 2's answers


def _prepare(config: PipelineConfig) -> str:
    try:
        prepare_finetuning(config)
        return "ok"
    except RuntimeError as error:
        return str(error)


def test_concurrent_step4_runs_never_fail_on_a_temporary_file(config: PipelineConfig) -> None:
    bootstrap(config, backend=FakeBackend())
    expected = {p.name: p.read_bytes() for p in config.output_dir.glob("*.json*")}
    with multiprocessing.get_context("fork").Pool(6) as workers:
        outcomes = workers.map(_prepare, [config] * 18)
    assert all(o == "ok" or "another run is writing the fine-tuning files" in o for o in outcomes), outcomes
    assert "ok" in outcomes
    assert {p.name: p.read_bytes() for p in config.output_dir.glob("*.json*")} == expected
    assert not [p for p in config.output_dir.rglob("*") if p.name.endswith((".tmp", ".lock"))]


def test_step4_failure_leaves_old_files_and_no_temporary(config: PipelineConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap(config, backend=FakeBackend())
    before = {p.name: p.read_bytes() for p in config.output_dir.glob("*.json*")}
    real = publish.write_temporary
    written = []

    def disk_full_on_third(path: Path, chunks: object) -> Path:
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append(path)
        return real(path, chunks)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "write_temporary", disk_full_on_third)
    with pytest.raises(OSError, match="No space"):
        prepare_finetuning(dataclasses.replace(config, seed=5))
    assert {p.name: p.read_bytes() for p in config.output_dir.glob("*.json*")} == before
    assert not [p for p in config.output_dir.rglob("*") if p.name.endswith((".tmp", ".lock"))]
    stale = config.output_dir / ".finetuning.jsonl.abc123.tmp"
    stale.write_text("left by a killed run")
    monkeypatch.setattr(publish, "write_temporary", real)
    prepare_finetuning(config)
    assert not stale.exists()


def test_summary_reports_the_prefix_cache_hit_rate_where_the_engine_gives_it(config: PipelineConfig) -> None:
    from selfinstruct.backends.base import GenerationStats

    class Cached(FakeBackend):
        """Counts like an engine whose prefix cache served 10 tokens of every prompt."""

        def __init__(self) -> None:
            super().__init__()
            self.stats = GenerationStats()

        def generate_with_seeds(self, prompts, params, seeds):  # type: ignore[no-untyped-def]
            out = super().generate_with_seeds(prompts, params, seeds)
            self.stats.record(out, 0.01)
            self.stats.cached_prompt_tokens += 10 * len(prompts)
            return out

    backend = Cached()
    summary = generate_instructions(config, backend)
    assert summary.prefix_cache_hit_rate == backend.stats.cached_prompt_tokens / backend.stats.prompt_tokens
    assert "prefix cache served" in summary.format()
    assert generate_instructions(config, FakeBackend()).prefix_cache_hit_rate is None
