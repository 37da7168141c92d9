"""Small rating fixtures written by the tests themselves: an instruction set and three models' predictions
(two in our {"id", "prediction"} format, one in the original Self-Instruct layout without ids)."""
from __future__ import annotations

import json
from pathlib import Path

INSTRUCTIONS = [
    {"id": "task_0", "instruction": "Name three primary colours.", "instances": [{"input": "", "output": "red"}]},
    {"id": "task_1", "instruction": "Translate to French.", "instances": [{"input": "Good morning", "output": "Bonjour"}]},
    {"id": "task_2", "instruction": "Add the numbers.", "instances": [{"input": "2 and 3", "output": "5"}]},
]
# Distinctive model names, so a test can search every page and API response for them.
MODELS = ("zebra-model-one", "yak-model-two", "xerus-model-three")
RESPONSES = {
    MODELS[0]: ["Red, yellow and blue.", "Bonjour", "5"],
    MODELS[1]: ["Green.", "Good evening", "six"],
    MODELS[2]: ["Red, green, blue", "Bonjour !", ""],
}


def write_rating_data(directory: Path) -> tuple[Path, list[Path]]:
    """Write the instruction set and one prediction file per model; return (instructions, predictions)."""
    instructions = directory / "instructions.jsonl"
    instructions.write_text("".join(json.dumps(task) + "\n" for task in INSTRUCTIONS), encoding="utf-8")
    paths = []
    for model in MODELS[:2]:
        path = directory / f"{model}_predictions.jsonl"
        path.write_text("".join(json.dumps({"id": task["id"], "prediction": text}) + "\n"
                                for task, text in zip(INSTRUCTIONS, RESPONSES[model])), encoding="utf-8")
        paths.append(path)
    upstream = directory / f"{MODELS[2]}_predictions.jsonl"
    upstream.write_text("".join(
        json.dumps({"instruction": task["instruction"] + "\n", "input": task["instances"][0]["input"],
                    "response": " " + text, "target": task["instances"][0]["output"]}) + "\n"
        for task, text in zip(INSTRUCTIONS, RESPONSES[MODELS[2]])), encoding="utf-8")
    paths.append(upstream)
    return instructions, paths
