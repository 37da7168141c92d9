"""Evaluation on real data: parity with the official SuperNI script and the time `predict` takes.

    python bench/bench_evaluate.py                      # parity checks + embedded predict on 20 instances
    python bench/bench_evaluate.py --predict-instances 0   # parity checks only

1. `selfinstruct evaluate superni` (the real command, in a subprocess) on the SuperNI sample in
   ../shared/data/superni_sample (103 test tasks, 10 instances each; a synthetic task folder when
   it is absent, said so in the output), with a seeded mix of predictions (a reference, a
   reference with case and punctuation changed, another instance's answer, the input, missing);
   every metric key compared with natural-instructions' script transcribed in
   tests/superni_official.py, rouge-score computing ROUGE-L.
2. `selfinstruct evaluate user-oriented` on the 8 models' responses in ../shared/data/human_eval/
   (skipped when absent), each model's numbers compared with the same oracle.
3. `predict` on the embedded SmolLM2-135M-Instruct (transformers, CPU) for the first N SuperNI
   instances: model load and prediction time, per instance and tokens/s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "tests"))
from evaluate_fakes import write_task_dir  # noqa: E402
from superni_official import official_compute, official_evaluate, official_reference_file  # noqa: E402


def cli(*args: str) -> float:
    """Run the real `selfinstruct` command; return its wall time."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "selfinstruct", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def superni_parity(work: Path) -> Path:
    from rouge_score import rouge_scorer

    from selfinstruct.evaluate import load_superni

    root = DATA / "superni_sample"
    if not (root / "tasks").is_dir():
        print(f"(no {root}: using a synthetic task folder instead)")
        root = write_task_dir(work / "synthetic", seed=0, tasks=20, instances=10)
    items = load_superni(root)
    rng = random.Random(0)
    predictions = {}
    for item in items:
        choice = rng.randrange(5)
        if choice == 4:
            continue  # missing: scored as ""
        other = rng.choice(items)
        predictions[item.id] = [rng.choice(item.references), rng.choice(item.references).upper() + " !",
                                rng.choice(other.references), item.input][choice]
    pred_path = work / "superni_predictions.jsonl"
    pred_path.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in predictions.items()))
    out = work / "metrics.json"
    ours_s = cli("evaluate", "superni", "--data", str(root), "--predictions", str(pred_path), "-o", str(out))
    ours = json.loads(out.read_text())
    start = time.perf_counter()
    expected = official_evaluate(official_reference_file(root), predictions,
                                 rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True))
    oracle_s = time.perf_counter() - start
    same = list(ours.items()) == list(expected.items())
    print(f"SuperNI: {len(items)} instances of {len({i.task_id for i in items})} tasks, {len(predictions)} predictions; "
          f"{len(ours)} metric keys; identical to the official formulas (keys, order, floats): {same}")
    print(f"  exact_match_default_track {ours['exact_match_default_track']}, rougeL_default_track "
          f"{ours['rougeL_default_track']}; `selfinstruct evaluate superni` {ours_s:.2f} s (whole command), "
          f"oracle {oracle_s:.2f} s")
    if not same:
        raise SystemExit("MISMATCH")
    return root


def user_oriented_parity(work: Path) -> None:
    from rouge_score import rouge_scorer

    from selfinstruct.evaluate import load_user_oriented, read_predictions, score_user_oriented
    from selfinstruct.evaluate.predictions import instance_key

    data, responses = DATA / "user_oriented_instructions.jsonl", sorted((DATA / "human_eval").glob("*_predictions.jsonl"))
    if not data.exists() or not responses:
        print(f"(no {data} or human_eval responses: user-oriented check skipped)")
        return
    out = work / "table.json"
    seconds = cli("evaluate", "user-oriented", "--data", str(data), "--predictions", *map(str, responses), "-o", str(out))
    table = json.loads(out.read_text())
    items = load_user_oriented(data)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    by_instance = {instance_key(item.instruction, item.input): item.id for item in items}
    rows = score_user_oriented(items, responses)
    print(f"user-oriented: {len(items)} instances, {len(responses)} models, `selfinstruct evaluate user-oriented` "
          f"{seconds:.2f} s (whole command)")
    print("| model | ROUGE-L | exact match | oracle equal |\n|---|---:|---:|---|")
    for row, saved in zip(rows, table):
        texts = read_predictions(row.path, by_instance)
        expected = official_compute([texts.get(i.id, "") for i in items], [list(i.references) for i in items], scorer)
        equal = (saved["rouge_l"], saved["exact_match"]) == (expected["rougeL"], expected["exact_match"])
        print(f"| {row.name} | {row.rouge_l:.2f} | {row.exact_match:.2f} | {equal} |")
        if not equal:
            raise SystemExit("MISMATCH")


def predict_timing(root: Path, work: Path, count: int, max_tokens: int, style: str) -> None:
    from selfinstruct.backends import BackendConfig, create_backend
    from selfinstruct.evaluate import PredictConfig, evaluate_superni, load_superni, predict, read_predictions

    items = load_superni(root)
    start = time.perf_counter()
    backend = create_backend(BackendConfig())
    load_s = time.perf_counter() - start
    out = work / "embedded_predictions.jsonl"
    try:
        summary = predict(items, backend, PredictConfig(out, prompt_style=style, max_tokens=max_tokens, limit=count))
    finally:
        backend.close()
    report = evaluate_superni(items[:count], read_predictions(out))
    print(f"predict, embedded SmolLM2-135M-Instruct (transformers, CPU, {os.cpu_count()} cores, load avg "
          f"{os.getloadavg()[0]:.2f}): {count} SuperNI instances, --prompt-style {style}, --max-tokens {max_tokens}, "
          f"16 prompts per call")
    print(f"  model load {load_s:.1f} s; predict {summary.seconds:.1f} s = {summary.seconds / count:.2f} s per instance; "
          f"{summary.completion_tokens} completion tokens ({summary.completion_tokens / summary.seconds:.1f} tok/s), "
          f"{summary.prompt_tokens} prompt tokens; ROUGE-L on these {count}: {report.metrics['rougeL_default_track']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predict-instances", type=int, default=20, help="0 skips the predict timing")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompt-style", default="chat")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = superni_parity(work)
        user_oriented_parity(work)
        if args.predict_instances > 0:
            predict_timing(root, work, args.predict_instances, args.max_tokens, args.prompt_style)


if __name__ == "__main__":
    main()
