"""Record real completions of the embedded model for the parser tests (test_pipeline_recorded.py).

    python tests/data/completions/record.py [--backend transformers] [--out tests/data/completions/smollm2.jsonl]

Every prompt is built by the pipeline's own prompt builders from the shipped seed tasks, with each
step's real sampling settings (smaller token budgets, to keep the run short on 2 cores). Each line:
{"step", "prompt_style", "classification", "cue", "prompt", "params", "text", "finish_reason",
"completion_tokens", "backend"}. Rerun after changing a prompt; then review the new expectations
the parser test prints for any changed line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

from selfinstruct.backends.base import SamplingParams
from selfinstruct.pipeline.common import chat_formatter
from selfinstruct.pipeline.config import PipelineConfig
from selfinstruct.pipeline.prompts import alpaca_prompt, clf_prompt, instance_prompt, instruction_prompt
from selfinstruct.seeds import load_seed_tasks


def jobs(config: PipelineConfig) -> list[tuple[str, str, bool, list, SamplingParams]]:
    """(step, style, classification, prompts, params) groups to record."""
    seeds = load_seed_tasks()
    rng = random.Random(2024)
    texts = [task.instruction for task in seeds]
    out = []
    step1 = dataclasses.replace(config.instructions.sampling(seed=11), max_tokens=160)
    for style in ("completion", "chat"):
        out.append(("instructions", style, False, [instruction_prompt(rng.sample(texts, 8)) for _ in range(8)], step1))
    picked = rng.sample(seeds, 16)
    out.append(("classification", "completion", False, [clf_prompt(t.instruction) for t in picked],
                config.classification.sampling(seed=12)))
    plain = [t for t in seeds if not t.is_classification][:40:4]
    labelled = [t for t in seeds if t.is_classification][:18:3]
    for classification, tasks in ((False, plain), (True, labelled)):
        params = dataclasses.replace(config.instances.sampling(13, classification), max_tokens=200)
        out.append(("instances", "completion", classification,
                    [instance_prompt(t.instruction, classification) for t in tasks], params))
    demos = [(t.instruction, t.instances[0].input, t.instances[0].output) for t in seeds]
    step_alpaca = dataclasses.replace(config.alpaca.sampling(seed=14), max_tokens=300)
    for style in ("completion", "chat"):
        out.append(("alpaca", style, False, [alpaca_prompt(rng.sample(demos, 3), 20) for _ in range(4)], step_alpaca))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="transformers")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("smollm2.jsonl"))
    args = parser.parse_args()
    from selfinstruct.pipeline.runner import make_backend
    from selfinstruct.backends.config import BackendConfig

    backend = make_backend(BackendConfig(kind=args.backend, seed=0))
    lines = []
    try:
        for step, style, classification, prompts, params in jobs(PipelineConfig()):
            chat = chat_formatter(backend, style)
            rendered = [prompt.render(chat) for prompt in prompts]
            results = backend.generate(rendered, params)
            for prompt, text, group in zip(prompts, rendered, results):
                completion = group[0]
                lines.append({"step": step, "prompt_style": style, "classification": classification, "cue": prompt.cue,
                              "prompt": text, "params": dataclasses.asdict(params), "text": completion.text,
                              "finish_reason": completion.finish_reason,
                              "completion_tokens": completion.completion_tokens, "backend": backend.name})
            print(f"{step} ({style}): {len(prompts)} completions", file=sys.stderr)
    finally:
        backend.close()
    args.out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} completions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
