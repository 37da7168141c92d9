"""`selfinstruct report` end to end through the real CLI: files written, JSON exact, errors clear."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_data import EXPECTED, write_alpaca_json, write_run, write_seeds  # noqa: E402
from selfinstruct.cli import main  # noqa: E402

pytest.importorskip("matplotlib", reason="PNG figures need matplotlib (pip install 'selfinstruct[report]')")


def test_run_and_dataset_side_by_side(tmp_path, capsys):
    run = write_run(tmp_path / "run")
    alpaca = write_alpaca_json(tmp_path / "alpaca_data.json")
    out = tmp_path / "out" / "report.html"
    code = main(["report", str(run), str(alpaca), "-o", str(out), "--json", str(tmp_path / "out" / "stats.json"),
                 "--seeds", str(write_seeds(tmp_path / "seeds.jsonl")), "--no-diversity"])
    assert code == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert list(stats) == ["run", "alpaca_data.json"]
    assert stats["run"]["classification_instructions"] == 1
    assert stats["alpaca_data.json"]["classification_instructions"] is None
    for table in stats.values():
        assert table["instances"] == EXPECTED["instances"] and table["mean_words"]["output"] == 4.25
    page = out.read_text(encoding="utf-8")
    ids = re.findall(r'<figure class="chart" data-figure="([^"]+)"', page)
    assert ids == ["novelty", "length-instruction", "length-input", "length-output", "funnel-0", "admission-0",
                   "throughput-0"]
    for figure_id in ids:
        png = out.with_name(f"report-{figure_id}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'href="{png.name}"' in page
    assert "1 seed instructions (seeds.jsonl)" in page
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(?!data:|report-)', page)
    without_namespace = page.replace('"http://www.w3.org/2000/svg"', "")  # a name, not a request
    assert "http://" not in without_namespace and "https://" not in without_namespace
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "7 figures" in printed


def test_no_png_and_default_seeds(tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(write_alpaca_json(tmp_path / "a.json")), "-o", str(out), "--no-png", "--no-diversity"]) == 0
    assert not list(tmp_path.glob("*.png"))
    assert "175 seed instructions (the package's seed tasks)" in out.read_text(encoding="utf-8")


def test_bad_source_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{oops\n{"instruction": "c", "output": "d"}\n')
    out = tmp_path / "r.html"
    assert main(["report", str(bad), "-o", str(out)]) == 2
    assert f"{bad}:2: malformed JSON" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.png"))
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--sample", "--pairwise-sample", "--processes"])
def test_bad_numbers_are_refused(flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "x.json", flag, "0"])
    assert exit_info.value.code == 2
    assert "give a positive number" in capsys.readouterr().err


def test_missing_matplotlib_is_refused_with_the_install_hint(tmp_path, monkeypatch, capsys):
    from selfinstruct.report import png

    real = png.importlib.util.find_spec
    monkeypatch.setattr(png.importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    out = tmp_path / "r.html"
    assert main(["report", str(write_alpaca_json(tmp_path / "a.json")), "-o", str(out)]) == 2
    assert "pip install \"selfinstruct[report]\"" in capsys.readouterr().err and not out.exists()


def test_the_same_source_twice_gets_two_names(tmp_path):
    from selfinstruct.report.build import unique_names

    assert unique_names(["x/a.json", "x/a.json", "y/a.json", "b"]) == ["x/a.json", "x/a.json (2)", "y/a.json", "b"]
    stats = tmp_path / "s.json"
    source = str(write_alpaca_json(tmp_path / "a.json"))
    assert main(["report", source, source, "-o", str(tmp_path / "r.html"), "--json", str(stats), "--no-png",
                 "--no-diversity"]) == 0
    assert len(json.loads(stats.read_text())) == 2
