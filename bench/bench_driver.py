"""Driver overhead: tokens/s of the pipeline's step-1 loop versus the engine's raw generate.

    python bench/bench_driver.py                       # transformers here, then vLLM in its environment
    python bench/bench_driver.py --engines transformers --batch-sizes 8 --repeats 5

For each engine and batch size (prompts per round), one process with one loaded backend measures:

(a) raw: `backend.generate_with_seeds(prompts, params, seeds)` once per round (a window of
    requests), on exactly the prompts and per-request seeds that step 1 sent; tokens/s = completion tokens / seconds
    inside generate;
(b) pipeline: `generate_instructions` itself, the code path of `selfinstruct generate-instructions`
    (prompt building, generate, parsing, filters, ROUGE-L admission, the fsynced journal, the
    progress bar) into a fresh directory; tokens/s = completion tokens from the backend's counters
    / wall time of the whole call, start-up (journal, seed pool) included.

The rounds of (a) are rebuilt from (b)'s output (the machine instructions each round could show),
so both sides make the same calls with the same seeds, and the engines are reproducible per round
(transformers seeds each micro-batch; vLLM on CPU reseeds and empties its prefix cache before every
round, on both sides alike): the token counts must match, and each admitted instruction's response
must be one of the raw completions of its round. Repeats alternate which side goes first; the
ratio (b)/(a) is per repeat, the median is reported. vLLM runs in the environment named by
--vllm-python (default $SELFINSTRUCT_VLLM_PYTHON) with this checkout on PYTHONPATH.

On a shared machine (a), (b) and their ratio move with the load; two columns separate the
driver's own cost from that: the loop's seconds outside `generate`, and the share of the loop's
wall time spent inside it. "engine speed in (b) vs (a)" is (a)'s generate seconds over (b)'s.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "python" / "selfinstruct"


def standin_pythonpath(directory: Path) -> Path:
    """A `selfinstruct` package made of links to this checkout's sources and this environment's
    compiled `_core`, for an interpreter that has the engine but not the package (same Python)."""
    import selfinstruct._core as core

    package = directory / "selfinstruct"
    package.mkdir(parents=True, exist_ok=True)
    for entry in [*SOURCE.iterdir(), Path(core.__file__)]:
        link = package / entry.name
        if not link.exists():
            link.symlink_to(entry)
    return directory


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def engine_versions(engine: str) -> str:
    import torch

    extra = ""
    with contextlib.suppress(ImportError):
        if engine == "vllm":
            import vllm

            extra = f", vllm {vllm.__version__}"
        else:
            import transformers

            extra = f", transformers {transformers.__version__}"
    return f"torch {torch.__version__}{extra}"


def pipeline_config(out: Path, args: argparse.Namespace, batch: int) -> Any:
    from selfinstruct.pipeline.config import InstructionConfig, PipelineConfig

    return PipelineConfig(
        output_dir=out, num_instructions=args.num_instructions or 7 * batch, prompts_per_round=batch, keep_truncated=True,
        seed=args.seed, progress=True, instructions=InstructionConfig(max_tokens=args.max_tokens),
    )  # fmt: skip


def run_pipeline(backend: Any, config: Any) -> dict[str, Any]:
    """(b): the whole step-1 call, wall-timed; the progress bar goes to /dev/null, not the table."""
    from selfinstruct.pipeline import generate_instructions

    before = backend.stats.copy()
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        started = time.perf_counter()
        summary = generate_instructions(config, backend)
        seconds = time.perf_counter() - started
    delta = backend.stats.since(before)
    return {"seconds": seconds, "tokens": delta.completion_tokens, "calls": delta.calls,
            "engine_seconds": delta.seconds, "admitted": summary.counts["admitted"]}  # fmt: skip


def rebuild_rounds(backend: Any, config: Any) -> list[tuple[list[str], Any, list[int]]]:
    """The prompts and per-request seeds of every window (b) made, rebuilt from its journal."""
    import bisect

    from selfinstruct.pipeline.seeding import request_rng, sampling_seed
    from selfinstruct.pipeline.steps.instructions import InstructionGenerator

    generator = InstructionGenerator(config, backend)
    journal = config.output_dir / "state" / "instructions.records.jsonl"
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    state_file = config.output_dir / "state" / "instructions.jsonl"
    requests = json.loads(state_file.read_text(encoding="utf-8").splitlines()[-1])["state"]["next_request"]
    machine, request_of = [r["instruction"] for r in records], [r["request"] for r in records]
    window = config.window_for(config.prompts_per_round)
    made = []
    for start in range(0, requests, window):
        prompts, seeds = [], []
        for index in range(start, min(start + window, requests)):
            visible = bisect.bisect_right(request_of, index - window)
            prompt = generator.make_prompt(request_rng(config.seed, generator.name, index), machine, visible)
            prompts.append(prompt.render(generator.chat))
            seeds.append(sampling_seed(config.seed, generator.name, index))
        made.append((prompts, generator.sampling(None), seeds))
    return made


def run_raw(backend: Any, rounds: list[tuple[list[str], Any, list[int]]]) -> dict[str, Any]:
    """(a): one batched call per window (each prompt with its own seed), nothing else; also the
    texts, for the same-tokens check."""
    seconds, tokens, texts = 0.0, 0, []
    for prompts, params, seeds in rounds:
        started = time.perf_counter()
        results = backend.generate_with_seeds(prompts, params, seeds)
        seconds += time.perf_counter() - started
        tokens += sum(c.completion_tokens for group in results for c in group)
        texts.append({c.text for group in results for c in group})
    return {"seconds": seconds, "tokens": tokens, "texts": texts}


def same_tokens(raw: dict[str, Any], piped: dict[str, Any], config: Any) -> bool:
    records = [json.loads(line) for line in (config.output_dir / "machine_generated_instructions.jsonl").open()]
    return raw["tokens"] == piped["tokens"] and all(
        r["metadata"]["response"] in raw["texts"][r["request_idx"]] for r in records
    )


def measure(engine: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every batch size of one engine, in this process."""
    from selfinstruct.backends import BackendConfig, SamplingParams, create_backend

    sizes = [int(b) for b in args.batch_sizes.split(",")]
    model = args.model
    if engine == "vllm" and model is None:
        from selfinstruct.backends.embedded import embedded_model_dir

        model = str(embedded_model_dir("bfloat16"))
    backend = create_backend(BackendConfig(kind=engine, model=model, batch_size=max(sizes), seed=args.seed,
                                           max_model_len=2048 if engine == "vllm" else None))  # fmt: skip
    rows = []
    try:
        backend.generate(["1. Write a haiku.\n2."] * 2, SamplingParams(max_tokens=8))  # warm-up
        for batch in sizes:
            raw_runs, piped_runs, ratios, checks, rounds = [], [], [], [], None
            for repeat in range(args.repeats):
                with tempfile.TemporaryDirectory(prefix="bench-driver-") as tmp:
                    config = pipeline_config(Path(tmp) / "out", args, batch)
                    if rounds is None:  # the first pipeline run tells which rounds there are
                        piped = run_pipeline(backend, config)
                        rounds = rebuild_rounds(backend, config)
                        raw = run_raw(backend, rounds)
                    elif repeat % 2:
                        raw = run_raw(backend, rounds)
                        piped = run_pipeline(backend, config)
                    else:
                        piped = run_pipeline(backend, config)
                        raw = run_raw(backend, rounds)
                    checks.append(same_tokens(raw, piped, config) and piped["calls"] == len(rounds))
                raw_runs.append(raw)
                piped_runs.append(piped)
                ratios.append((piped["tokens"] / piped["seconds"]) / (raw["tokens"] / raw["seconds"]))
            rows.append({
                "engine": engine, "batch": batch, "rounds": len(rounds or []), "max_tokens": args.max_tokens,
                "tokens": piped_runs[0]["tokens"], "admitted": piped_runs[0]["admitted"],
                "raw_tok_s": statistics.median(r["tokens"] / r["seconds"] for r in raw_runs),
                "pipeline_tok_s": statistics.median(p["tokens"] / p["seconds"] for p in piped_runs),
                "outside_generate_s": statistics.median(p["seconds"] - p["engine_seconds"] for p in piped_runs),
                "in_generate": statistics.median(p["engine_seconds"] / p["seconds"] for p in piped_runs),
                "engine_ratio": statistics.median(r["seconds"] / p["engine_seconds"] for r, p in zip(raw_runs, piped_runs)),
                "ratio": statistics.median(ratios), "ratios": ratios, "same_tokens": all(checks),
                "load_avg": os.getloadavg()[0], "versions": engine_versions(engine), "machine": machine_info(),
            })  # fmt: skip
    finally:
        backend.close()
    return rows


def run_vllm_child(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure vLLM in its own environment (this script again, with --child)."""
    with tempfile.TemporaryDirectory(prefix="bench-driver-path-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(standin_pythonpath(Path(tmp))))
        command = [args.vllm_python, str(Path(__file__).resolve()), "--child", "--engines", "vllm",
                   "--batch-sizes", args.batch_sizes, "--repeats", str(args.repeats), "--seed", str(args.seed),
                   "--max-tokens", str(args.max_tokens)]  # fmt: skip
        if args.num_instructions:
            command += ["--num-instructions", str(args.num_instructions)]
        if args.model:
            command += ["--model", args.model]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    rows = [json.loads(line[4:]) for line in done.stdout.splitlines() if line.startswith("ROW ")]
    if done.returncode != 0 or not rows:
        raise SystemExit(f"vLLM child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"# driver overhead, step 1 — {rows[0]['machine']}")
    for engine in dict.fromkeys(row["engine"] for row in rows):
        print(f"# {engine}: {next(r['versions'] for r in rows if r['engine'] == engine)}")
    print("| engine | prompts/round | max_tokens | rounds | completion tokens | admitted | raw tok/s (a) "
          "| pipeline tok/s (b) | (b)/(a) median | per repeat | loop s outside generate | loop time in generate "
          "| engine speed in (b) vs (a) | same tokens | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        each = " ".join(f"{100 * x:.1f}" for x in r["ratios"])
        print(f"| {r['engine']} | {r['batch']} | {r['max_tokens']} | {r['rounds']} | {r['tokens']} | {r['admitted']} "
              f"| {r['raw_tok_s']:.1f} | {r['pipeline_tok_s']:.1f} | {100 * r['ratio']:.1f}% | {each} "
              f"| {r['outside_generate_s']:.3f} | {100 * r['in_generate']:.2f}% | {100 * r['engine_ratio']:.1f}% | {'yes' if r['same_tokens'] else 'NO'} | {r['load_avg']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="transformers,vllm", help="comma-separated: transformers, vllm")
    parser.add_argument("--model", default=None, help="HF folder or name (default: the embedded SmolLM2-135M)")
    parser.add_argument("--batch-sizes", default="8,32", help="comma-separated prompts per round")
    parser.add_argument("--num-instructions", type=int, default=None,
                        help="step-1 target, which sets the number of rounds (default: 7 per prompt of a round, "
                             "3-5 rounds with the embedded model)")
    parser.add_argument("--max-tokens", type=int, default=160, help="step-1 token budget (the demo's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vllm-python", default=os.environ.get("SELFINSTRUCT_VLLM_PYTHON"))
    parser.add_argument("--json", type=Path, default=None, help="append one JSON line per row here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    import selfinstruct.backends  # noqa: F401  (sets OMP_WAIT_POLICY before torch loads)

    engines = args.engines.split(",")
    if args.child:
        for row in measure(engines[0], args):
            print("ROW " + json.dumps(row), flush=True)
        return 0
    rows = []
    for engine in engines:
        if engine == "vllm" and not args.vllm_python:
            print("# vllm skipped: set SELFINSTRUCT_VLLM_PYTHON or --vllm-python", file=sys.stderr)
            continue
        rows += run_vllm_child(args) if engine == "vllm" else measure(engine, args)
    if not rows:
        return 1
    print_table(rows)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
