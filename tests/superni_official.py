"""natural-instructions' eval/automatic/evaluation.py and leaderboard/create_reference_file.py,
transcribed as a test oracle, with rouge-score computing ROUGE-L: the oracle that the
evaluation tests and bench/bench_evaluate.py compare `selfinstruct.evaluate` with."""
from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any


def official_normalize(s: str) -> str:
    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_punc(s.lower()))


def official_compute(predictions: list[str], references: list[list[str]], scorer: Any) -> dict[str, float]:
    em, rouge_l = 0, 0
    for pred, gold in zip(predictions, references):
        em += max(official_normalize(pred) == official_normalize(g) for g in gold)
        rouge_l += max(scorer.score(prediction=pred, target=g)["rougeL"].fmeasure for g in gold)
    metrics = {"exact_match": 100.0 * em / len(references), "rougeL": 100.0 * rouge_l / len(references)}
    return {k: round(v, 4) for k, v in metrics.items()}


def official_grouped(predictions: list[str], references: list[list[str]], groups: list[str], scorer: Any) -> dict:
    by_group: dict[str, list] = {}
    for pred, gold, group in zip(predictions, references, groups):
        by_group.setdefault(group, []).append((pred, gold))
    results = {}
    for group, examples in by_group.items():
        preds, golds = zip(*examples)
        for metric, value in official_compute(list(preds), list(golds), scorer).items():
            results[f"{metric}_for_{group}"] = value
    return results


def official_reference_file(root: Path, tracks: tuple[str, ...] = ("default", "xlingual"), limit: int = 100) -> list[dict]:
    """What the leaderboard's create_reference_file.py writes, built from the raw task files."""
    lines = []
    for track in tracks:
        split = root / "splits" / track / "test_tasks.txt"
        if not split.exists():
            continue
        for task in [line.strip() for line in split.read_text().splitlines() if line.strip()]:
            data = json.loads((root / "tasks" / f"{task}.json").read_text())
            for instance in data["Instances"][:limit]:
                lines.append({"id": instance["id"], "references": instance["output"], "task_id": task,
                              "task_category": data["Categories"][0], "track": track})
    return lines


def official_evaluate(reference_lines: list[dict], predictions: dict[str, str], scorer: Any) -> dict[str, float]:
    eval_instances = {}
    for instance in reference_lines:
        instance = dict(instance)
        instance.setdefault("track", "default")
        eval_instances[instance["id"]] = instance
    all_results = {}
    for track in ["default"]:  # xlingual needs the GPT-2 tokenizer: tested separately
        ids = [i for i, inst in eval_instances.items() if inst["track"] == track]
        references = [eval_instances[i]["references"] for i in ids]
        preds = [predictions.get(i, "") for i in ids]
        for metric, value in official_compute(preds, references, scorer).items():
            all_results[f"{metric}_{track}_track"] = value
        if "task_category" in eval_instances[ids[0]]:
            categories = ["_".join(eval_instances[i]["task_category"].lower().split()) for i in ids]
            for metric, value in official_grouped(preds, references, categories, scorer).items():
                all_results[f"{metric}_{track}_track"] = value
        if "task_id" in eval_instances[ids[0]]:
            tasks = [eval_instances[i]["task_id"] for i in ids]
            for metric, value in official_grouped(preds, references, tasks, scorer).items():
                all_results[f"{metric}_{track}_track"] = value
    return all_results
