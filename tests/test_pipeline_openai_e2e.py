"""The whole bootstrap through the OpenAI-compatible backend, against a real vLLM OpenAI server.

One server per module (started from the environment named by SELFINSTRUCT_VLLM_PYTHON, ~20 s on
2 cores); the real CLI runs here, with `--backend openai --base-url ...`, for a few rounds with
small settings, and every output file is checked. Skipped, with the reason, without that
environment; SELFINSTRUCT_E2E=0 skips it too.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline_e2e import OFF, SMALL, check_outputs, lines  # noqa: E402
from vllm_env import skip_unless_vllm_server, vllm_server  # noqa: E402

# One prompt per round, so step 1 takes several rounds (a response holds at most ~5 items at 96 tokens).
ROUNDS = ["--prompts-per-round", "1", "--clf-prompts-per-call", "4", "--instance-prompts-per-call", "4"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    if OFF:
        pytest.skip("SELFINSTRUCT_E2E=0")
    skip_unless_vllm_server()
    with vllm_server(tmp_path_factory.mktemp("vllm-openai-server")) as url:
        yield url


def bootstrap(out: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "selfinstruct.pipeline.cli", "bootstrap", "-o", str(out),
               "--backend", "openai", "--base-url", url, "--concurrency", "4", "--timeout", "300", *SMALL, *ROUNDS, *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def test_bootstrap_through_the_openai_server(server: str, tmp_path: Path) -> None:
    done = bootstrap(tmp_path, server)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "generate-instructions: admitted=6" in done.stdout
    check_outputs(tmp_path)
    instructions = lines(tmp_path / "machine_generated_instructions.jsonl")
    commits = lines(tmp_path / "state" / "instructions.jsonl")[1:]
    assert commits[-1]["state"]["next_request"] == len(commits) >= 2, "step 1 should take several requests (a commit each: window 1)"
    assert {r["request_idx"] for r in instructions} <= set(range(len(commits)))
    for record in instructions:  # completion prompts, sent as plain text
        prompt = record["metadata"]["prompt"]
        assert prompt.endswith("\n9.") and "<|im_start|>" not in prompt
        assert record["metadata"]["finish_reason"] in ("stop", "length")
    clf = lines(tmp_path / "is_clf_or_not.jsonl")
    assert all(isinstance(r["is_classification"], str) for r in clf)
    classified = {r["instruction"]: r["is_classification"].strip().lower().startswith("yes") for r in clf}
    for record in lines(tmp_path / "machine_generated_instances.jsonl"):
        assert record["is_classification"] == classified[record["instruction"]]
    finetuning = lines(tmp_path / "finetuning.jsonl")
    assert all(pair["completion"].endswith("<|endoftext|>") for pair in finetuning)
    chat = lines(tmp_path / "chat.jsonl")
    assert all([m["role"] for m in c["messages"]] == ["user", "assistant"] for c in chat)
    # A rerun finds everything committed and changes nothing.
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.json*")}
    again = bootstrap(tmp_path, server)
    assert again.returncode == 0, again.stderr[-4000:]
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.json*")} == before


def test_chat_prompts_fail_before_any_work_with_a_hint(server: str, tmp_path: Path) -> None:
    done = bootstrap(tmp_path / "out", server, "--prompt-style", "chat")
    assert done.returncode == 2
    assert "cannot apply a chat template" in done.stderr and "--prompt-style completion" in done.stderr
    assert not (tmp_path / "out").exists()
