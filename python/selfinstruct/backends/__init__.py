"""Generation backends: transformers (embedded default), vLLM offline engine, OpenAI-compatible HTTP.

    from selfinstruct.backends import BackendConfig, SamplingParams, create_backend
    backend = create_backend(BackendConfig())          # embedded SmolLM2-135M-Instruct on CPU
    [[completion]] = backend.generate(["1. Write"], SamplingParams(max_tokens=32))

Engines are imported only when a backend is created, so this package imports without them.
"""
from __future__ import annotations

import os

# Busy-waiting OpenMP threads collapse when another process shares the cores (measured on 2 cores:
# a 0.5 s batch took 27 s). libgomp reads this once, when torch loads: so set it on import of
# this package, before any engine imports torch. An explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .base import (  # noqa: E402
    Backend,
    BackendError,
    Completion,
    GenerationStats,
    MissingDependencyError,
    SamplingParams,
)
from .config import BackendConfig  # noqa: E402

__all__ = [
    "Backend",
    "BackendConfig",
    "BackendError",
    "Completion",
    "GenerationStats",
    "MissingDependencyError",
    "SamplingParams",
    "create_backend",
]


def create_backend(config: BackendConfig) -> Backend:
    """Build the backend `config` asks for (`auto` resolved by `BackendConfig.resolved_kind`).

    A missing optional dependency raises MissingDependencyError with the install command.
    """
    kind = config.resolved_kind()
    if kind == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(config)
    if kind == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(config)
    from .transformers_backend import TransformersBackend

    return TransformersBackend(config)
