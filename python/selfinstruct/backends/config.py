"""Backend configuration: one dataclass, validated at construction, and the `auto` choice."""
from __future__ import annotations

import importlib.util
import platform
from dataclasses import dataclass, field
from typing import Sequence, Union

KINDS = ("auto", "transformers", "vllm", "openai")
# Accepted spellings → the torch dtype name engines understand.
DTYPES = {
    "auto": "auto",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
}


@dataclass
class BackendConfig:
    """How to generate: which engine, which model, and the engine's knobs.

    kind "auto" picks "openai" when `base_url` is given, else "vllm" when the `vllm` package is
    importable and a model is given, else "transformers". `model=None` means the embedded
    SmolLM2-135M-Instruct (see `selfinstruct.backends.embedded`). `base_url` takes one server URL
    or several (one server per GPU or node, all serving the same model); it is stored as a tuple.
    """

    kind: str = "auto"
    model: str | None = None
    dtype: str = "auto"
    seed: int = 0
    threads: int | None = None
    batch_size: int = 32
    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    enforce_eager: bool | None = None
    # vLLM only: give each request its own seed (params.seed + prompt index). None = on GPU only;
    # on CPU the in-process engine is reseeded per round instead (see docs/backends.md).
    per_request_seed: bool | None = None
    # vLLM only: reuse the KV cache of shared prompt prefixes (None = vLLM's default, on). Where
    # rounds are reproducible (CPU, in-process) the cache is emptied before each round.
    prefix_caching: bool | None = None
    # One URL or several; normalised to a tuple of URLs without trailing slashes.
    base_url: Union[str, Sequence[str], None] = field(default=None, metadata={"type": tuple})
    api_key: str | None = None
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 5

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"backend kind {self.kind!r} is unknown: use one of {', '.join(KINDS)}")
        key = str(self.dtype).lower()
        if key not in DTYPES:
            raise ValueError(f"dtype {self.dtype!r} is unknown: use auto, bfloat16, float16 or float32")
        self.dtype = DTYPES[key]
        _check_int("seed", self.seed, minimum=0)
        if self.threads is not None:
            _check_int("threads", self.threads, minimum=1, hint="or None for the engine's default")
        _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("tensor_parallel_size", self.tensor_parallel_size, minimum=1)
        if self.max_model_len is not None:
            _check_int("max_model_len", self.max_model_len, minimum=16, hint="or None for the model's own")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(
                f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}: "
                "it is the fraction of GPU memory vLLM may use, e.g. 0.9"
            )
        _check_int("concurrency", self.concurrency, minimum=1)
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        _check_int("max_retries", self.max_retries, minimum=0)
        if self.model is not None and not str(self.model).strip():
            raise ValueError("model is empty: give a Hugging Face folder or name, or None for the embedded model")
        if self.base_url is not None:
            self.base_url = _check_urls(self.base_url)
            if self.kind not in ("auto", "openai"):
                raise ValueError(
                    f"base_url is given but backend kind is {self.kind!r}: "
                    "use kind 'openai' (or 'auto') for a server, or drop base_url"
                )
        if self.kind == "openai" and self.base_url is None:
            raise ValueError(
                "backend kind 'openai' needs base_url, the server's API root, e.g. http://127.0.0.1:8000/v1"
            )

    def resolved_kind(self) -> str:
        """The concrete backend kind `auto` stands for on this machine."""
        if self.kind != "auto":
            return self.kind
        if self.base_url is not None:
            return "openai"
        if self.model is not None and importlib.util.find_spec("vllm") is not None:
            return "vllm"
        return "transformers"


def _check_urls(value: object) -> tuple[str, ...] | None:
    """One URL or a sequence of them → a tuple of distinct URLs without trailing slashes."""
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, (list, tuple)) or not all(isinstance(url, str) for url in urls):
        raise ValueError(f"base_url must be a URL or a list of URLs, got {value!r}")
    if not urls:
        return None
    cleaned: list[str] = []
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {url!r} must start with http:// or https://, e.g. http://127.0.0.1:8000/v1")
        url = url.rstrip("/")
        if url in cleaned:
            raise ValueError(f"base_url {url!r} is given twice: list each server once")
        cleaned.append(url)
    return tuple(cleaned)


def _check_int(name: str, value: object, minimum: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")


def cpu_supports_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm).

    Without it bf16 matmuls are emulated and slower than float32.
    """
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith(("flags", "features")):
                    flags.update(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    if flags:
        return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return False  # MPS/Accelerate paths are float32 here; bf16 on CPU is emulated
    try:  # other systems: ask oneDNN (private but stable helper)
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def resolve_dtype(dtype: str, device: str = "cpu") -> str:
    """Turn "auto" into bfloat16 where the device has it, else float32 (CPU) or float16 (old GPUs)."""
    dtype = DTYPES[dtype.lower()]
    if dtype != "auto":
        return dtype
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "bfloat16" if cpu_supports_bf16() else "float32"
