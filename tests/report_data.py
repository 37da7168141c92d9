"""Small hand-made report sources with known statistics (counted by hand in the comments).

One logged reject is HTML, which the page must show as text."""
from __future__ import annotations

import json
from pathlib import Path

# 3 distinct instructions of 6, 6 and 5 words (mean 17/3); 4 instances, 2 with an empty input
# (one is only spaces); non-empty inputs of 2 and 6 words (mean 4.0); outputs of 6, 4, 1, 6 words (mean 4.25).
TRIPLES = [
    ("Write a poem about the sea.", "", "The sea is wide and blue."),
    ("Write a poem about the sea.", "Use rhymes.", "Blue sea, free me."),
    ("Classify the sentiment of the review.", "I loved this film so much", "Positive"),
    ("List three tips for sleep.", "   ", "Sleep early. Avoid screens. Keep cool."),
]
INSTRUCTIONS = ["Write a poem about the sea.", "Classify the sentiment of the review.", "List three tips for sleep."]
CLASSIFICATION = {INSTRUCTIONS[0]: False, INSTRUCTIONS[1]: True, INSTRUCTIONS[2]: False}
EXPECTED = {
    "instructions": 3,
    "classification_instructions": 1,
    "instances": 4,
    "instances_with_empty_input": 2,
    "mean_words": {"instruction": 17 / 3, "input_nonempty": 4.0, "output": 4.25},
}
SEED_TEXT = "Write a poem about the ocean."


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def triple_records() -> list[dict]:
    return [{"instruction": i, "input": x, "output": y} for i, x, y in TRIPLES]


def write_alpaca_json(path: Path) -> Path:
    path.write_text(json.dumps(triple_records(), indent=2), encoding="utf-8")
    return path


def write_seed_tasks(path: Path) -> Path:
    tasks = []
    for number, instruction in enumerate(INSTRUCTIONS):
        instances = [{"input": x, "output": y} for i, x, y in TRIPLES if i == instruction]
        tasks.append({"id": f"t{number}", "name": f"task_{number}", "instruction": instruction,
                      "instances": instances, "is_classification": CLASSIFICATION[instruction]})
    return write_jsonl(path, tasks)


def write_seeds(path: Path) -> Path:
    """A one-task seed file for the novelty figure."""
    return write_jsonl(path, [{"id": "s0", "name": "sea", "instruction": SEED_TEXT,
                               "instances": [{"input": "", "output": "Waves."}], "is_classification": False}])


REJECTS = [
    {"step": "generate-instructions", "reason": "too_similar", "text": "Write a poem about the seas.", "request": 0,
     "most_similar": "Write a poem about the sea.", "score": 0.857},
    {"step": "generate-instructions", "reason": "too_similar", "text": "Write poems about the sea.", "request": 1,
     "most_similar": "Write a poem about the sea.", "score": 0.8},
    {"step": "generate-instructions", "reason": "too_short", "text": "Go </script><img src=x onerror=alert(1)>", "request": 1,
     "most_similar": None, "score": None},
]
PROGRESS = [
    {"step": "generate-instructions", "batch": 0, "pool_size": 2, "candidates": 4, "admitted": 2,
     "dropped": {"too_similar": 1, "too_short": 1}, "prompt_tokens": 100, "completion_tokens": 50, "seconds": 0.5},
    {"step": "generate-instructions", "batch": 1, "pool_size": 3, "candidates": 2, "admitted": 1,
     "dropped": {"too_similar": 1}, "prompt_tokens": 80, "completion_tokens": 40, "seconds": 0.25},
]


def write_run(folder: Path, logs: bool = True) -> Path:
    """A finished self-instruct run directory: steps 1, 2 and 4's files (and its logs unless logs=False)."""
    write_jsonl(folder / "machine_generated_instructions.jsonl",
                [{"instruction": i, "most_similar": {}, "avg_similarity_score": 0.1, "metadata": {}, "request_idx": n}
                 for n, i in enumerate(INSTRUCTIONS)])
    write_jsonl(folder / "is_clf_or_not.jsonl",
                [{"instruction": i, "is_classification": " Yes" if CLASSIFICATION[i] else " No"} for i in INSTRUCTIONS])
    seed_instance = {"instruction": SEED_TEXT, "input": "", "output": "Waves."}  # --include-seed-tasks
    write_jsonl(folder / "all_generated_instances.jsonl", [seed_instance] + triple_records())
    if logs:
        write_jsonl(folder / "rejects" / "generate-instructions.jsonl", REJECTS)
        write_jsonl(folder / "progress.jsonl", PROGRESS)
    return folder
