"""Command-line flags and TOML config files, both generated from the config dataclasses.

A TOML file's keys are the flag names without the leading dashes ("num-instructions = 50";
underscores work too). Precedence: dataclass defaults < config file < flags given on the command
line. Backend flags come from the backend's own `BackendConfig` fields ("--backend" sets `kind`).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Optional

from .config import PipelineConfig
from .option_values import config_file_value, unescape_flag_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None  # type: ignore[assignment]

BACKEND_HELP = {
    "kind": "generation engine: auto, transformers, vllm or openai",
    "model": "model name or path (default: the embedded SmolLM2-135M-Instruct)",
    "dtype": "weights dtype (auto, bfloat16, float16, float32)",
    "threads": "CPU threads for local engines",
    "batch_size": "prompts per forward batch in the engine",
    "tensor_parallel_size": "GPUs per model replica (vLLM)",
    "max_model_len": "context length limit (vLLM)",
    "gpu_memory_utilization": "fraction of GPU memory vLLM may use",
    "enforce_eager": "disable CUDA graphs / compilation (vLLM)",
    "per_request_seed": "give each request of a round its own seed, round seed + prompt index (vLLM; default: "
                        "on GPU, off on CPU, where each round reseeds the engine instead, for bit-reproducible "
                        "rounds; streamed requests always carry their own seed)",
    "prefix_caching": "reuse the KV cache of shared prompt prefixes (vLLM; default: on; emptied before each "
                      "round where rounds are reproducible, kept warm by streams)",
    "base_url": "OpenAI-compatible server URL; repeat the flag for several servers (least-loaded first, "
                "failed requests retried on the others)",
    "api_key": "API key for the server",
    "concurrency": "requests in flight per server in round-based generation (a stream keeps --window in flight)",
    "timeout": "seconds without an answer before a request is retried",
    "max_retries": "failed attempts retried per request, over all servers",
}

SECTION_TITLES = {
    None: "run",
    "instructions": "step 1: instruction generation",
    "classification": "step 2: classification identification",
    "instances": "step 3: instance generation",
    "finetuning": "step 4: filtering and fine-tuning data",
    "alpaca": "alpaca mode",
    "backend": "generation backend",
}


@dataclass(frozen=True)
class Spec:
    """One option: where it lives (section None = top level, "backend", or a step section)."""

    key: str  # TOML key and argparse dest, e.g. "instruction_max_tokens"
    flag: str
    section: Optional[str]
    name: str  # the dataclass field
    kind: type
    help: str
    choices: Optional[tuple[str, ...]] = None
    short: Optional[str] = None
    default: Any = None


def _kind(default: Any, declared: Any, annotation: str) -> type:
    if declared is not None:
        return declared
    if default is not None:
        return type(default) if not isinstance(default, Path) else Path
    for name, kind in (("bool", bool), ("float", float), ("int", int), ("Path", Path)):
        if name in annotation:
            return kind
    return str


def pipeline_specs() -> list[Spec]:
    """Every pipeline option, from PipelineConfig and its step sections."""
    specs = []
    sections = [(None, PipelineConfig)]
    sections += [(f.name, f.default_factory) for f in dataclasses.fields(PipelineConfig)  # type: ignore[misc]
                 if f.default_factory is not dataclasses.MISSING]
    for section, cls in sections:
        for item in dataclasses.fields(cls):
            meta = item.metadata
            if "flag" not in meta:
                continue
            flag = meta["flag"]
            specs.append(Spec(flag[2:].replace("-", "_"), flag, section, item.name,
                              _kind(item.default, meta.get("type"), str(item.type)), meta["help"],
                              meta.get("choices"), meta.get("short"), item.default))
    return specs


def backend_specs() -> list[Spec]:
    """Options mapped onto BackendConfig (its `seed` follows the pipeline's --seed)."""
    from ..backends.config import BackendConfig

    specs = []
    for item in dataclasses.fields(BackendConfig):
        if item.name == "seed":
            continue
        flag = "--backend" if item.name == "kind" else "--" + item.name.replace("_", "-")
        default = item.default if item.default is not dataclasses.MISSING else None
        specs.append(Spec(flag[2:].replace("-", "_"), flag, "backend", item.name,
                          _kind(default, item.metadata.get("type"), str(item.type)),
                          BACKEND_HELP.get(item.name, item.name.replace("_", " ")), default=default))
    return specs


def add_arguments(parser: argparse.ArgumentParser, specs: list[Spec]) -> None:
    """Add flags that only appear in the namespace when given (so the config file is not overridden)."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE.toml",
                        help="TOML file whose keys are these flags' names; flags override it")
    groups: dict[Optional[str], Any] = {}
    for spec in specs:
        if spec.section not in groups:
            groups[spec.section] = parser.add_argument_group(SECTION_TITLES.get(spec.section, spec.section))
        names = [spec.short, spec.flag] if spec.short else [spec.flag]
        shown = spec.default if not isinstance(spec.default, tuple) else ", ".join(map(repr, spec.default))
        help_text = spec.help if spec.default is None else f"{spec.help} (default: {shown})"
        kwargs: dict[str, Any] = {"dest": spec.key, "default": argparse.SUPPRESS,
                                  "help": help_text.replace("%", "%%")}
        if spec.kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif spec.kind is tuple:
            kwargs.update(action="append", metavar="TEXT", type=unescape_flag_text)
        else:
            kwargs.update(type=spec.kind, choices=spec.choices)
        groups[spec.section].add_argument(*names, **kwargs)


def load_toml(path: Path) -> dict[str, Any]:
    """Read a config file into {key: value} with keys normalised to underscores."""
    if tomllib is None:
        raise RuntimeError("reading a TOML config needs Python 3.11+ or `pip install tomli`")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: {error}") from None
    return {key.replace("-", "_"): value for key, value in data.items()}


def given_values(args: argparse.Namespace, specs: list[Spec], unknown_hint: str,
                 also_known: Collection[str] = ()) -> dict[str, Any]:
    """{option key: value} for each option of `specs` that the config file (`args.config`) or a flag
    sets; a flag wins over the file. A file key neither in `specs` nor in `also_known` is a ValueError
    naming the file, followed by `unknown_hint` (what the keys are)."""
    by_key = {spec.key: spec for spec in specs}
    values: dict[str, Any] = {}
    config_path = getattr(args, "config", None)
    if config_path is not None:
        for key, value in load_toml(config_path).items():
            if key in by_key:
                values[key] = config_file_value(by_key[key], value, str(config_path))
            elif key not in also_known:
                raise ValueError(f"{config_path}: unknown key {key!r}; {unknown_hint}")
    for key, spec in by_key.items():
        if key in vars(args):
            value = getattr(args, key)
            values[key] = tuple(value) if spec.kind is tuple else value
    return values


def resolve(args: argparse.Namespace, with_backend: bool = True) -> tuple[PipelineConfig, Any]:
    """Build (PipelineConfig, BackendConfig or None) from defaults, the config file and the flags."""
    specs = pipeline_specs() + (_backend_specs_or_empty() if with_backend else [])
    by_key = {spec.key: spec for spec in specs}
    # A backend key in the file of a command without a backend (prepare-finetuning) is ignored, not an error.
    every_key = {spec.key for spec in pipeline_specs() + _backend_specs_or_empty()}
    values = given_values(args, specs, "keys are the flag names, e.g. num-instructions", also_known=every_key)
    grouped: dict[Optional[str], dict[str, Any]] = {}
    for key, value in values.items():
        spec = by_key[key]
        grouped.setdefault(spec.section, {})[spec.name] = value
    defaults = PipelineConfig()
    top = grouped.pop(None, {})
    backend_values = grouped.pop("backend", {})
    for section, fields in grouped.items():
        top[section] = dataclasses.replace(getattr(defaults, section), **fields)
    config = PipelineConfig(**top)
    backend = None
    if with_backend:
        try:
            from ..backends.config import BackendConfig
        except ImportError:  # no backends installed: make_backend will say so if one is needed
            return config, None
        backend = BackendConfig(**backend_values, seed=config.seed)
    return config, backend


def _backend_specs_or_empty() -> list[Spec]:
    try:
        return backend_specs()
    except ImportError:
        return []
