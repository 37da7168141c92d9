"""`selfinstruct rate` and `rate-results` as a user runs them: a real server process that is killed with
SIGKILL mid-session loses no acknowledged rating and resumes; bad input is a clear error."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

pytest.importorskip("flask", reason="the rating server needs Flask (pip install 'selfinstruct[rate]')")

from rate_data import MODELS, write_rating_data  # noqa: E402
from selfinstruct.cli import main  # noqa: E402


def start_server(tmp_path, paths, instructions, results):
    command = [sys.executable, "-m", "selfinstruct", "rate", *map(str, paths), "--instructions", str(instructions),
               "--results", str(results), "--port", "0"]
    # A shell's background jobs inherit SIGINT ignored; the server must see Ctrl-C as a user would.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    urls = {}
    for line in process.stdout:
        found = re.search(r"(raters open|results).*?(http://\S+)", line)
        if found:
            urls[found.group(1)] = found.group(2)
        if "Ctrl-C" in line:
            return process, urls["raters open"].rstrip("/"), urls["results"]
    raise AssertionError(f"the server did not start (exit {process.wait()})")


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_killed_server_loses_nothing_and_resumes(tmp_path):
    instructions, paths = write_rating_data(tmp_path)
    results = tmp_path / "ratings.jsonl"
    process, url, _ = start_server(tmp_path, paths, instructions, results)
    try:
        queue = call(f"{url}/api/raters/alice/queue")["items"]
        given = [(item["key"], level) for item, level in zip(queue, "ABCDA")]
        for key, level in given:
            call(f"{url}/api/raters/alice/ratings", {"item": key, "rating": level})
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert [json.loads(line)["rating"] for line in results.read_text(encoding="utf-8").splitlines()] == list("ABCDA")

    process, url, results_url = start_server(tmp_path, paths, instructions, results)
    try:
        resumed = call(f"{url}/api/raters/alice/queue")["items"]
        assert [item["rating"] for item in resumed] == list("ABCDA") + [None] * (len(resumed) - 5)
        with urllib.request.urlopen(results_url, timeout=10) as page:
            text = page.read().decode("utf-8")
        assert all(model in text for model in MODELS)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0 and "every rating given is saved" in output


def test_rate_results_and_results_only(tmp_path, capsys):
    instructions, paths = write_rating_data(tmp_path)
    ratings = tmp_path / "ratings.jsonl"
    record = {"rater": "ann", "item": "task_0", "model": MODELS[1], "rating": "B", "time": "2026-01-01T00:00:00Z"}
    ratings.write_text(json.dumps(record) + "\n", encoding="utf-8")
    pytest.importorskip("matplotlib", reason="the figure needs matplotlib (pip install 'selfinstruct[rate]')")
    assert main(["rate-results", str(ratings)]) == 0
    assert f"| {MODELS[1]} | 1 | 0 (0.0%) | 1 (100.0%) |" in capsys.readouterr().out
    assert (tmp_path / "ratings_results" / "ratings.png").stat().st_size > 1000
    assert main(["rate", *map(str, paths), "--instructions", str(instructions), "--results", str(ratings),
                 "--results-only", str(tmp_path / "only")]) == 0
    data = json.loads((tmp_path / "only" / "results.json").read_text(encoding="utf-8"))
    assert [row["model"] for row in data["models"]] == list(MODELS)  # every given model, in the order given


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    instructions, paths = write_rating_data(tmp_path)
    broken = tmp_path / "broken_predictions.jsonl"
    broken.write_text('{"id": "task_0", "prediction": "x"}\n{"id": "task_0", "pred\n', encoding="utf-8")
    results = tmp_path / "ratings.jsonl"
    assert main(["rate", str(broken), "--instructions", str(instructions), "--results", str(results)]) == 2
    assert "broken_predictions.jsonl:2: malformed JSON" in capsys.readouterr().err
    unknown = tmp_path / "unknown_predictions.jsonl"
    unknown.write_text('{"id": "task_7", "prediction": "x"}\n', encoding="utf-8")
    assert main(["rate", str(unknown), "--instructions", str(instructions), "--results", str(results)]) == 2
    assert "unknown_predictions.jsonl:1: id 'task_7' is not in the instruction set" in capsys.readouterr().err
    assert not results.exists()  # nothing is created before the input is known to be good
    assert main(["rate-results", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    for missing_or_bad in (["--instructions", str(instructions), "--port", "70000"], []):  # no --instructions
        with pytest.raises(SystemExit):
            main(["rate", str(paths[0]), "--results", str(results), *missing_or_bad])
