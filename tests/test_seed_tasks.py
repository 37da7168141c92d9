"""Tests for the seed-task loader and for the invariants of the shipped seed file."""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

from selfinstruct.filters import check_instruction
from selfinstruct.records import RecordError
from selfinstruct.seeds import Instance, SeedFormatError, SeedTask, default_seed_path, load_seed_tasks

def good_task(**overrides: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": "t0",
        "name": "capital_question",
        "instruction": "What is the capital of Peru?",
        "instances": [{"input": "", "output": "Lima."}],
        "is_classification": False,
    }
    task.update(overrides)
    return task


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------- loader


def test_loads_valid_file_and_skips_blank_lines(tmp_path: Path) -> None:
    second = good_task(id="t1", name="sentiment", instruction="Is this review positive or negative?",
                       instances=[{"input": "Loved it.", "output": "positive"}, {"input": "Meh.", "output": "negative"}],
                       is_classification=True, extra_key="ignored")
    path = write_lines(tmp_path / "seeds.jsonl", [good_task(), "", "   ", second])
    tasks = load_seed_tasks(path)
    assert tasks == [
        SeedTask("t0", "capital_question", "What is the capital of Peru?", (Instance("", "Lima."),), False),
        SeedTask("t1", "sentiment", "Is this review positive or negative?",
                 (Instance("Loved it.", "positive"), Instance("Meh.", "negative")), True),
    ]
    assert load_seed_tasks(str(path)) == tasks


@pytest.mark.parametrize(
    ("task", "field", "problem"),
    [
        ({k: v for k, v in good_task().items() if k != "instruction"}, "instruction", "missing"),
        ({k: v for k, v in good_task().items() if k != "is_classification"}, "is_classification", "missing"),
        (good_task(instruction="   "), "instruction", "empty"),
        (good_task(id=""), "id", "empty"),
        (good_task(instruction=42), "instruction", "expected str, got int"),
        (good_task(id=7), "id", "expected str, got int"),
        (good_task(is_classification="no"), "is_classification", "expected bool, got str"),
        (good_task(is_classification=0), "is_classification", "expected bool, got int"),
        (good_task(instances={"input": "", "output": "x"}), "instances", "expected list, got dict"),
        (good_task(instances=[]), "instances", "empty list"),
        (good_task(instances=["just text"]), "instances[0]", "expected an object, got str"),
        (good_task(instances=[{"input": "", "output": "x"}, {"input": ""}]), "instances[1].output", "missing"),
        (good_task(instances=[{"input": None, "output": "x"}]), "instances[0].input", "expected str, got NoneType"),
    ],
)
def test_schema_errors_name_file_line_and_field(tmp_path: Path, task: dict[str, Any], field: str, problem: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [good_task(id="ok"), "", task])
    with pytest.raises(SeedFormatError) as info:
        load_seed_tasks(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: field '{field}': ")
    assert problem in message
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 3, field)


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "broken.jsonl", [good_task(), '{"id": "t1", "name": '])
    with pytest.raises(SeedFormatError, match=r"broken\.jsonl:2: malformed JSON") as info:
        load_seed_tasks(path)
    assert info.value.field is None
    assert isinstance(info.value, RecordError) and isinstance(info.value, ValueError)


def test_non_object_line_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "list.jsonl", [[1, 2, 3]])
    with pytest.raises(SeedFormatError, match=r"list\.jsonl:1: expected a JSON object"):
        load_seed_tasks(path)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "dup.jsonl", [good_task(), good_task(name="other"), good_task(id="t0", name="third")])
    with pytest.raises(SeedFormatError) as info:
        load_seed_tasks(path)
    assert str(info.value).startswith(f"{path}:2: field 'id': duplicate id 't0'")
    assert "first on line 1" in str(info.value)


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_seed_tasks(tmp_path / "nope.jsonl")


def test_names_may_repeat_ids_may_not(tmp_path: Path) -> None:
    """Released seed files repeat a task name; only ids must be unique (bench/compat_seed_tasks.py checks the original)."""
    path = write_lines(tmp_path / "names.jsonl", [good_task(), good_task(id="t1"), good_task(id="t2", is_classification=True)])
    tasks = load_seed_tasks(path)
    assert [task.name for task in tasks] == ["capital_question"] * 3
    assert sum(task.is_classification for task in tasks) == 1


# ---------------------------------------------------------------- the shipped seed file


@pytest.fixture(scope="module")
def shipped() -> list[SeedTask]:
    return load_seed_tasks()


def test_default_path_is_inside_the_package() -> None:
    path = default_seed_path()
    assert path.name == "seed_tasks.jsonl" and path.parent.name == "data" and path.is_file()


def test_shipped_counts_and_ids(shipped: list[SeedTask]) -> None:
    assert len(shipped) == 175
    assert sum(task.is_classification for task in shipped) == 25
    assert [task.id for task in shipped] == [f"seed_task_{i}" for i in range(175)]
    names = [task.name for task in shipped]
    assert len(set(names)) == 175
    assert all(name.isidentifier() and name == name.lower() for name in names)


def test_shipped_file_has_exactly_the_original_schema() -> None:
    keys = {"id", "name", "instruction", "instances", "is_classification"}
    with open(default_seed_path(), encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            assert set(record) == keys
            assert all(set(instance) == {"input", "output"} for instance in record["instances"])


def test_shipped_instances_are_complete(shipped: list[SeedTask]) -> None:
    for task in shipped:
        assert task.instances, task.name
        for instance in task.instances:
            assert instance.output.strip(), task.name
            assert instance.input != instance.output, task.name
            assert not instance.output.rstrip().endswith(":"), task.name


def test_shipped_classification_outputs_are_named_labels(shipped: list[SeedTask]) -> None:
    for task in (task for task in shipped if task.is_classification):
        for instance in task.instances:
            assert instance.input.strip(), task.name
            assert instance.output.lower() in task.instruction.lower(), (task.name, instance.output)


def test_shipped_instructions_pass_the_default_filters(shipped: list[SeedTask]) -> None:
    failures = {task.name: check_instruction(task.instruction) for task in shipped}
    assert {name: reason for name, reason in failures.items() if reason is not None} == {}


def test_shipped_shape_of_the_set(shipped: list[SeedTask]) -> None:
    n = len(shipped)
    empty_input = sum(all(not instance.input for instance in task.instances) for task in shipped)
    assert 0.25 <= empty_input / n <= 0.45
    questions = sum(task.instruction.strip().endswith("?") for task in shipped)
    assert 0.20 <= questions / n <= 0.40
    leading = collections.Counter(task.instruction.split()[0].lower().strip(",.:;!?") for task in shipped)
    word, count = leading.most_common(1)[0]
    assert count <= 6, f"{count} instructions start with {word!r}"


def _max_pairwise_rouge_reference(texts: list[str]) -> tuple[float, int, int]:
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    best = (0.0, -1, -1)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            score = scorer.score(texts[i], texts[j])["rougeL"].fmeasure
            best = max(best, (score, i, j))
    return best


def test_shipped_pairwise_novelty_with_rouge_score(shipped: list[SeedTask]) -> None:
    texts = [task.instruction for task in shipped]
    score, i, j = _max_pairwise_rouge_reference(texts)
    assert score <= 0.7, (texts[i], texts[j], score)


def test_shipped_set_admits_whole_into_an_empty_pool(shipped: list[SeedTask]) -> None:
    """The same invariant through the engine the pipeline uses (skipped until it is built)."""
    pytest.importorskip("selfinstruct._core", reason="C++ engine not built")
    import selfinstruct

    texts = [task.instruction for task in shipped]
    result = selfinstruct.Pool(threshold=0.7).admit(texts)
    rejected = [(texts[k], d.best_index, d.best_score) for k, d in enumerate(result) if not d.admitted]
    assert rejected == []
    assert max(selfinstruct.rouge_l(texts[i], texts[j]) for i in range(len(texts)) for j in range(i)) <= 0.7
