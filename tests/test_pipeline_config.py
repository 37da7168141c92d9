"""Config dataclasses, TOML files and flags (precedence: defaults < file < flags)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from selfinstruct.filters import ALPACA_KEYWORDS, SELF_INSTRUCT_KEYWORDS
from selfinstruct.pipeline.cli import add_pipeline_commands
from selfinstruct.pipeline.config import AlpacaConfig, InstanceConfig, InstructionConfig, PipelineConfig
from selfinstruct.pipeline.options import pipeline_specs, resolve


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_pipeline_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_paper_defaults() -> None:
    config = PipelineConfig()
    step1 = config.instructions.sampling(seed=5)
    assert (step1.temperature, step1.top_p, step1.max_tokens, step1.presence_penalty) == (0.7, 0.5, 1024, 2.0)
    assert step1.stop == ("\n\n", "\n16", "16.", "16 .") and step1.seed == 5
    assert config.instructions.num_prompt_instructions == 8 and config.instructions.num_machine_instructions == 2
    clf = config.classification.sampling(0)
    assert clf.temperature == 0 and clf.max_tokens == 3 and clf.stop == ("\n", "Task")
    plain, labelled = config.instances.sampling(0, False), config.instances.sampling(0, True)
    assert (plain.max_tokens, labelled.max_tokens, plain.presence_penalty) == (350, 300, 1.5)
    assert plain.temperature == 0 and plain.stop == ("Example 6", "Task:")
    assert config.finetuning.max_instances_per_task == 5 and config.finetuning.strip_prefix_prob == 0.5
    alpaca = config.alpaca.sampling(0)
    assert (alpaca.temperature, alpaca.top_p, alpaca.max_tokens) == (1.0, 1.0, 3072)
    assert config.similarity_threshold == 0.7 and config.min_words == 4 and config.max_words == 150


def test_keywords_follow_the_mode() -> None:
    assert PipelineConfig().filter_config().blocked_keywords == SELF_INSTRUCT_KEYWORDS
    assert PipelineConfig(mode="alpaca").filter_config().blocked_keywords == ALPACA_KEYWORDS
    assert PipelineConfig(blocked_keywords=("foo",)).filter_config().blocked_keywords == ("foo",)


def test_stop_strings_follow_the_list_length() -> None:
    assert InstructionConfig(num_prompt_instructions=4, max_new_per_response=3).stop_strings()[1:] == ("\n8", "8.", "8 .")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PipelineConfig(mode="x"), "mode='x'"),
        (lambda: PipelineConfig(prompts_per_round=0), "prompts-per-round=0"),
        (lambda: PipelineConfig(similarity_threshold=1.5), "similarity-threshold"),
        (lambda: PipelineConfig(min_words=5, max_words=2), "max_words=2"),
        (lambda: InstructionConfig(num_machine_instructions=9), "num-machine-instructions=9"),
        (lambda: InstructionConfig(top_p=0), "instruction-top-p=0"),
        (lambda: InstanceConfig(max_tokens=0), "instance-max-tokens=0"),
        (lambda: AlpacaConfig(tasks_per_prompt=3, num_demonstrations=3), "tasks-per-prompt=3"),
    ],
)
def test_validation_names_the_bad_value(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        build()


def test_every_flag_is_unique() -> None:
    flags = [spec.flag for spec in pipeline_specs()]
    assert len(flags) == len(set(flags))


def test_flags_map_onto_sections() -> None:
    args = parse(["prepare-finetuning", "-o", "out", "--num-instructions", "7", "--instruction-max-tokens", "64",
                  "--max-instances-per-task", "3", "--capitalize", "--blocked-keyword", "foo", "--blocked-keyword",
                  "bar", "--instruction-stop", "\\n\\n", "--clf-examples", "5"])
    config, backend = resolve(args, with_backend=False)
    assert backend is None
    assert config.output_dir == Path("out") and config.num_instructions == 7 and config.capitalize
    assert config.instructions.max_tokens == 64 and config.instructions.stop == ("\n\n",)
    assert config.finetuning.max_instances_per_task == 3 and config.classification.num_examples == 5
    assert config.blocked_keywords == ("foo", "bar")


def test_toml_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('num-instructions = 20\ninstruction_temperature = 1\nmode = "alpaca"\n'
                    'language = "any"\nblocked-keyword = ["x", "y"]\noutput-dir = "somewhere"\n')
    config, _ = resolve(parse(["prepare-finetuning", "--config", str(path), "--num-instructions", "30"]), False)
    assert config.num_instructions == 30  # the flag wins
    assert config.instructions.temperature == 1.0 and config.mode == "alpaca" and config.language == "any"
    assert config.blocked_keywords == ("x", "y") and config.output_dir == Path("somewhere")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("num-instrutions = 3\n", "unknown key 'num_instrutions'"),
        ("num-instructions = '3'\n", "is not an integer"),
        ("capitalize = 1\n", "is not true or false"),
        ('mode = "other"\n', "not one of"),
        ("num-instructions = \n", "run.toml"),
    ],
)
def test_toml_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        resolve(parse(["prepare-finetuning", "--config", str(path)]), False)


def test_every_command_is_registered() -> None:
    for command in ("bootstrap", "generate-instructions", "identify-clf", "generate-instances", "prepare-finetuning"):
        args = parse([command, "-o", "x"])
        assert callable(args.func)


def test_fingerprint_excludes_paths_and_display() -> None:
    print_keys = PipelineConfig(output_dir=Path("a")).fingerprint()
    assert "output_dir" not in print_keys and "progress" not in print_keys
    assert print_keys["instructions"]["temperature"] == 0.7


def test_backend_flags_and_keys_map_onto_backend_config(tmp_path: Path) -> None:
    pytest.importorskip("selfinstruct.backends.config")
    path = tmp_path / "run.toml"
    path.write_text('backend = "transformers"\nthreads = 2\nbatch-size = 16\nseed = 9\n')
    config, backend = resolve(parse(["bootstrap", "--config", str(path), "--batch-size", "4", "--dtype", "float32"]))
    assert (backend.kind, backend.threads, backend.batch_size, backend.dtype) == ("transformers", 2, 4, "float32")
    assert backend.seed == config.seed == 9
    config, backend = resolve(parse(["generate-instances", "--model", "some/model"]))
    assert backend.model == "some/model" and backend.kind == "auto"


def test_every_backend_field_has_its_own_help() -> None:
    pytest.importorskip("selfinstruct.backends.config")
    from selfinstruct.pipeline.options import BACKEND_HELP, backend_specs

    assert {spec.name for spec in backend_specs()} <= set(BACKEND_HELP)


def test_bootstrap_help_lists_the_vllm_seed_and_cache_flags(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("selfinstruct.backends.config")
    from selfinstruct.cli import main  # the `selfinstruct` console script

    with pytest.raises(SystemExit):
        main(["bootstrap", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--per-request-seed, --no-per-request-seed" in text and "own seed, round seed + prompt index" in text
    assert "--prefix-caching, --no-prefix-caching" in text and "KV cache of shared prompt prefixes" in text
    config, backend = resolve(parse(["bootstrap", "--no-prefix-caching", "--per-request-seed"]))
    assert backend.prefix_caching is False and backend.per_request_seed is True
