"""Configuration of the bootstrap pipeline: validated dataclasses, one per step.

Every field carries its command-line flag in its metadata, so the CLI and the TOML config file
(whose keys are the flag names without the leading dashes) are generated from these classes and
cannot drift from them. Defaults are the paper's; the README's demo shrinks them
with flags.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..backends.base import SamplingParams
from ..filters import ALPACA_KEYWORDS, LANGUAGES, SELF_INSTRUCT_KEYWORDS, InstructionFilterConfig

MODES = ("self-instruct", "alpaca")
PROMPT_STYLES = ("completion", "chat")


def option(default: Any, flag: str, help: str, **extra: Any) -> Any:
    """A dataclass field with its CLI flag and help text (`type` for fields whose default is None)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata={"flag": flag, "help": help, **extra})


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_sampling(prefix: str, temperature: float, top_p: float, max_tokens: int) -> None:
    _check(max_tokens >= 1, f"{prefix}max-tokens={max_tokens} is below 1: use a positive token budget")
    _check(temperature >= 0, f"{prefix}temperature={temperature} is negative: use 0 (greedy) or more")
    _check(0 < top_p <= 1, f"{prefix}top-p={top_p} is outside (0, 1]: use e.g. 1.0")


@dataclass(frozen=True)
class InstructionConfig:
    """Step 1, instruction generation (self-instruct mode)."""

    num_prompt_instructions: int = option(8, "--num-prompt-instructions", "pool instructions shown in each prompt")
    num_machine_instructions: int = option(
        2, "--num-machine-instructions", "how many of them are machine-generated once enough exist"
    )
    max_new_per_response: int = option(
        7, "--max-new-per-response", "stop a response after this many new items (sets the default stop strings)"
    )
    max_tokens: int = option(1024, "--instruction-max-tokens", "token budget of one response")
    temperature: float = option(0.7, "--instruction-temperature", "sampling temperature")
    top_p: float = option(0.5, "--instruction-top-p", "nucleus sampling mass")
    presence_penalty: float = option(2.0, "--instruction-presence-penalty", "presence penalty")
    frequency_penalty: float = option(0.0, "--instruction-frequency-penalty", "frequency penalty")
    stop: Optional[tuple[str, ...]] = option(
        None, "--instruction-stop", "stop string (repeatable; default: a blank line or the item after the last allowed one)",
        type=tuple,
    )
    clf_seeds_only: bool = option(False, "--clf-seeds-only", "show only classification seed tasks in prompts")
    prompt_style: Optional[str] = option(
        None, "--instruction-prompt-style",
        "prompt style of this step only (default: --prompt-style); chat helps small instruct models continue lists",
        choices=PROMPT_STYLES, type=str,
    )

    def __post_init__(self) -> None:
        _check(self.num_prompt_instructions >= 1,
               f"num-prompt-instructions={self.num_prompt_instructions} is below 1: show at least one instruction")
        _check(0 <= self.num_machine_instructions <= self.num_prompt_instructions,
               f"num-machine-instructions={self.num_machine_instructions} must be between 0 and "
               f"num-prompt-instructions={self.num_prompt_instructions}")
        _check(self.max_new_per_response >= 1, f"max-new-per-response={self.max_new_per_response} is below 1")
        _check(self.prompt_style in (None, *PROMPT_STYLES),
               f"instruction-prompt-style={self.prompt_style!r} is unknown: use one of {PROMPT_STYLES}")
        _check_sampling("instruction-", self.temperature, self.top_p, self.max_tokens)

    def stop_strings(self) -> tuple[str, ...]:
        """The configured stop strings, or the reference's: a blank line, or the item number after the last allowed."""
        if self.stop is not None:
            return self.stop
        last = self.num_prompt_instructions + self.max_new_per_response + 1
        return ("\n\n", f"\n{last}", f"{last}.", f"{last} .")

    def sampling(self, seed: int) -> SamplingParams:
        """Sampling parameters of one round."""
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p, stop=self.stop_strings(),
            presence_penalty=self.presence_penalty, frequency_penalty=self.frequency_penalty, seed=seed,
        )


@dataclass(frozen=True)
class ClassificationConfig:
    """Step 2, classification identification (greedy, a few tokens)."""

    prompts_per_call: int = option(32, "--clf-prompts-per-call", "instructions per backend call (and per durable append)")
    num_examples: Optional[int] = option(
        None, "--clf-examples", "few-shot examples in the prompt (default: all 31; fewer is faster for small models)",
        type=int,
    )
    max_tokens: int = option(3, "--clf-max-tokens", "token budget of the answer")

    def __post_init__(self) -> None:
        _check(self.prompts_per_call >= 1, f"clf-prompts-per-call={self.prompts_per_call} is below 1")
        _check(self.num_examples is None or self.num_examples >= 0, f"clf-examples={self.num_examples} is negative")
        _check(self.max_tokens >= 1, f"clf-max-tokens={self.max_tokens} is below 1")

    def sampling(self, seed: int) -> SamplingParams:
        return SamplingParams(max_tokens=self.max_tokens, temperature=0.0, stop=("\n", "Task"), seed=seed)


@dataclass(frozen=True)
class InstanceConfig:
    """Step 3, instance generation (greedy; input-first, or output-first for classification)."""

    prompts_per_call: int = option(32, "--instance-prompts-per-call", "tasks per backend call (and per durable append)")
    num_demonstrations: Optional[int] = option(
        None, "--instance-demos", "demonstrations per prompt (default: all; fewer is faster for small models)", type=int,
    )
    max_tokens: int = option(350, "--instance-max-tokens", "token budget for a non-classification task")
    clf_max_tokens: int = option(300, "--clf-instance-max-tokens", "token budget for a classification task")
    temperature: float = option(0.0, "--instance-temperature", "sampling temperature (0 = greedy)")
    top_p: float = option(1.0, "--instance-top-p", "nucleus sampling mass")
    presence_penalty: float = option(1.5, "--instance-presence-penalty", "presence penalty")
    frequency_penalty: float = option(0.0, "--instance-frequency-penalty", "frequency penalty")
    max_examples: int = option(5, "--max-examples", "stop a response after this many examples")

    def __post_init__(self) -> None:
        _check(self.prompts_per_call >= 1, f"instance-prompts-per-call={self.prompts_per_call} is below 1")
        _check(self.num_demonstrations is None or self.num_demonstrations >= 1,
               f"instance-demos={self.num_demonstrations} is below 1")
        _check_sampling("instance-", self.temperature, self.top_p, self.max_tokens)
        _check(self.clf_max_tokens >= 1, f"clf-instance-max-tokens={self.clf_max_tokens} is below 1")
        _check(self.max_examples >= 1, f"max-examples={self.max_examples} is below 1")

    def sampling(self, seed: int, classification: bool) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.clf_max_tokens if classification else self.max_tokens,
            temperature=self.temperature, top_p=self.top_p,
            stop=(f"Example {self.max_examples + 1}", "Task:"),
            presence_penalty=self.presence_penalty, frequency_penalty=self.frequency_penalty, seed=seed,
        )


@dataclass(frozen=True)
class FinetuneConfig:
    """Step 4, instance filtering and fine-tuning data."""

    max_instances_per_task: int = option(5, "--max-instances-per-task", "keep at most this many instances of a task")
    strip_prefix_prob: float = option(
        0.5, "--strip-prefix-prob", "probability of stripping a single 'Field:' prefix from an input"
    )
    include_seed_tasks: bool = option(False, "--include-seed-tasks", "add the seed tasks' instances to the data")
    completion_suffix: str = option("<|endoftext|>", "--completion-suffix", "text appended to every completion")

    def __post_init__(self) -> None:
        _check(self.max_instances_per_task >= 1, f"max-instances-per-task={self.max_instances_per_task} is below 1")
        _check(0 <= self.strip_prefix_prob <= 1, f"strip-prefix-prob={self.strip_prefix_prob} is outside [0, 1]")


@dataclass(frozen=True)
class AlpacaConfig:
    """Alpaca mode: one prompt asks for whole (instruction, input, output) tasks."""

    num_demonstrations: int = option(3, "--alpaca-demos", "seed tasks shown in each prompt")
    tasks_per_prompt: int = option(20, "--tasks-per-prompt", "tasks the prompt asks for (demonstrations included)")
    max_tokens: int = option(3072, "--alpaca-max-tokens", "token budget of one response")
    temperature: float = option(1.0, "--alpaca-temperature", "sampling temperature")
    top_p: float = option(1.0, "--alpaca-top-p", "nucleus sampling mass")
    presence_penalty: float = option(0.0, "--alpaca-presence-penalty", "presence penalty")
    frequency_penalty: float = option(0.0, "--alpaca-frequency-penalty", "frequency penalty")

    def __post_init__(self) -> None:
        _check(self.num_demonstrations >= 1, f"alpaca-demos={self.num_demonstrations} is below 1")
        _check(self.tasks_per_prompt > self.num_demonstrations,
               f"tasks-per-prompt={self.tasks_per_prompt} must exceed alpaca-demos={self.num_demonstrations}")
        _check_sampling("alpaca-", self.temperature, self.top_p, self.max_tokens)

    def sampling(self, seed: int) -> SamplingParams:
        last = self.tasks_per_prompt
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
            stop=(f"\n{last}", f"{last}."), presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty, seed=seed,
        )


@dataclass(frozen=True)
class PipelineConfig:
    """The whole run: shared settings plus one section per step (the backend is configured apart)."""

    output_dir: Path = option(Path("selfinstruct-out"), "--output-dir", "directory of every output and state file",
                              type=Path, short="-o")
    mode: str = option("self-instruct", "--mode", "self-instruct (4 steps) or alpaca (one prompt per whole task)",
                       choices=MODES)
    seed: int = option(0, "--seed", "run seed: prompt sampling, per-round sampling seeds, shuffling")
    seed_tasks: Optional[Path] = option(None, "--seed-tasks", "seed task JSONL (default: the shipped 175)", type=Path)
    prompt_style: str = option("completion", "--prompt-style",
                               "completion: raw prompts (the method's way); chat: wrapped in the model's chat template",
                               choices=PROMPT_STYLES)
    num_instructions: int = option(100, "--num-instructions", "stop once this many new instructions are admitted")
    prompts_per_round: int = option(8, "--prompts-per-round", "prompts per round (one backend call, one durable append)")
    max_stalled_rounds: int = option(
        100, "--max-stalled-rounds", "stop after this many rounds in a row admit nothing (0: never)"
    )
    similarity_threshold: float = option(0.7, "--similarity-threshold", "reject a new instruction above this ROUGE-L F")
    similarity_tokenizer: str = option("rouge", "--similarity-tokenizer",
                                       "rouge (reference-compatible) or unicode")
    window: Optional[int] = option(
        None, "--window",
        "requests in flight per step (default: --prompts-per-round for step 1 and alpaca mode, each step's "
        "prompts-per-call for steps 2 and 3); the output depends on the seed and the window, not on timing",
        type=int,
    )
    similarity_fields: bool = option(
        True, "--similarity-fields",
        "write most_similar and avg_similarity_score for each admitted instruction, exactly as the reference "
        "computes them (off the admission path, while the engine generates); each scans the pool, so at "
        "10^5+ instructions they cost CPU time after generation ends: --no-similarity-fields skips them",
    )
    similarity_sample: int = option(
        0, "--similarity-sample",
        "an ESTIMATE of the similarity fields over this many randomly drawn earlier pool entries per "
        "instruction (0: exact, the default)",
    )
    keep_truncated: bool = option(
        False, "--keep-truncated", "keep a length-cut response minus its last item (default: discard it, as the paper)"
    )
    capitalize: bool = option(False, "--capitalize", "apply str.capitalize() to new instructions (the original code does)")
    min_words: int = option(4, "--min-words", "drop instructions with fewer words")
    max_words: int = option(150, "--max-words", "drop instructions with more words")
    language: str = option("english", "--language", "english: drop instructions starting with a non-ASCII character",
                           choices=LANGUAGES)
    blocked_keywords: Optional[tuple[str, ...]] = option(
        None, "--blocked-keyword", "drop instructions with this whole word (repeatable; default: the mode's list)",
        type=tuple,
    )
    blocked_prefixes: tuple[str, ...] = option(("write a program",), "--blocked-prefix",
                                               "drop instructions starting with this (repeatable)")
    progress: bool = option(True, "--progress", "show a progress bar")
    instructions: InstructionConfig = field(default_factory=InstructionConfig)
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)
    instances: InstanceConfig = field(default_factory=InstanceConfig)
    finetuning: FinetuneConfig = field(default_factory=FinetuneConfig)
    alpaca: AlpacaConfig = field(default_factory=AlpacaConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.seed_tasks is not None:
            object.__setattr__(self, "seed_tasks", Path(self.seed_tasks))
        _check(self.mode in MODES, f"mode={self.mode!r} is unknown: use one of {MODES}")
        _check(self.prompt_style in PROMPT_STYLES, f"prompt-style={self.prompt_style!r} is unknown: use one of {PROMPT_STYLES}")
        _check(self.num_instructions >= 0, f"num-instructions={self.num_instructions} is negative")
        _check(self.prompts_per_round >= 1, f"prompts-per-round={self.prompts_per_round} is below 1")
        _check(self.window is None or self.window >= 1, f"window={self.window} is below 1")
        _check(self.similarity_sample >= 0, f"similarity-sample={self.similarity_sample} is negative: use 0 for exact")
        _check(self.max_stalled_rounds >= 0, f"max-stalled-rounds={self.max_stalled_rounds} is negative: use 0 for never")
        _check(0 <= self.similarity_threshold <= 1, f"similarity-threshold={self.similarity_threshold} is outside [0, 1]")
        self.filter_config()  # validates the filter fields

    def filter_config(self) -> InstructionFilterConfig:
        """The instruction filters; the keyword list defaults to the mode's (Alpaca adds media words)."""
        keywords = self.blocked_keywords
        if keywords is None:
            keywords = ALPACA_KEYWORDS if self.mode == "alpaca" else SELF_INSTRUCT_KEYWORDS
        return InstructionFilterConfig(
            min_words=self.min_words, max_words=self.max_words, blocked_keywords=tuple(keywords),
            blocked_prefixes=tuple(self.blocked_prefixes), language=self.language,
        )

    def step_settings(self, *sections: str) -> dict[str, Any]:
        """The settings that shape a step's output (saved in its state file, compared on resume)."""
        data = self.fingerprint()
        shared = {key: value for key, value in data.items() if not isinstance(value, dict)}
        for key in ("num_instructions", "max_stalled_rounds", "similarity_fields", "similarity_sample"):
            shared.pop(key, None)  # growing the target later is a normal way to extend a run
        return {**shared, **{section: data[section] for section in sections}}

    def window_for(self, batch: int) -> int:
        """Requests in flight for a step whose batch (round) size is `batch`."""
        return self.window if self.window is not None else batch

    def fingerprint(self) -> dict[str, Any]:
        """The settings that shape the outputs (saved in state files; a resume with others warns)."""
        data = to_dict(self)
        for key in ("output_dir", "progress"):
            data.pop(key, None)
        return data


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a (nested) config dataclass."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[item.name] = value
    return out
