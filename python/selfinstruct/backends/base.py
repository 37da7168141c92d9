"""The one interface every generation backend implements."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings for one round of prompts (the fields every engine understands)."""

    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    n: int = 1
    # Per-round seed from the pipeline, so a resumed run samples what an uninterrupted one did.
    # Backends apply it as well as their engine allows (see each backend's docs).
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        for name in ("presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if not -2.0 <= value <= 2.0:  # the OpenAI range, which vLLM enforces too
                raise ValueError(f"{name} must be in [-2, 2], got {value}")


@dataclass(frozen=True)
class Completion:
    """One generated continuation of a prompt.

    finish_reason is "stop" (a stop string or end of sequence) or "length" (cut by max_tokens);
    the pipeline discards or trims length-cut responses as the method says.
    """

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


def derive_seed(seed: int, *parts: int) -> int:
    """A 63-bit seed from a base seed and positions, well mixed (neighbouring inputs differ everywhere)."""
    text = ":".join(str(value) for value in (seed, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def render_chat(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """`messages` in a Hugging Face tokenizer's chat template, as prompt text ending where the
    assistant's reply starts. A tokenizer without a chat template raises (from transformers)."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


@runtime_checkable
class Backend(Protocol):
    """Generates completions for a batch of prompts; results come back in prompt order."""

    name: str

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """Return, for each prompt, its `params.n` completions."""
        ...

    def close(self) -> None:
        """Free the engine's resources (idempotent)."""
        ...


class BackendError(RuntimeError):
    """A backend could not produce completions (server error after retries, bad request, engine failure)."""


class MissingDependencyError(ImportError):
    """An optional dependency of the chosen backend is not installed; the message has the install command."""


@dataclass
class GenerationStats:
    """Cumulative counters a backend keeps in its `stats` attribute, for throughput reports.

    `seconds` is wall time spent inside `generate`, plus, for streams, wall time during which the
    stream had requests in flight; take a `copy()` before a round and `since(before)` after it for
    per-round figures.
    """

    calls: int = 0
    prompts: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    # Prompt tokens served from the engine's prefix cache (vLLM only; 0 where unknown).
    cached_prompt_tokens: int = 0

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per wall-clock second (0 before the first call)."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def prefix_cache_hit_rate(self) -> float:
        """Fraction of prompt tokens the prefix cache served (0 where the engine does not say)."""
        return self.cached_prompt_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def copy(self) -> "GenerationStats":
        return GenerationStats(**self.__dict__)

    def since(self, before: "GenerationStats") -> "GenerationStats":
        """The counters accumulated after the snapshot `before`."""
        return GenerationStats(**{key: value - getattr(before, key) for key, value in self.__dict__.items()})

    def record_request(self, completions: "Sequence[Completion]") -> None:
        """Add one streamed request's completions (its stream adds the seconds it had requests in flight)."""
        self.prompts += 1
        self.completions += len(completions)
        if completions:
            self.prompt_tokens += completions[0].prompt_tokens
        self.completion_tokens += sum(c.completion_tokens for c in completions)

    def record(self, results: "Sequence[Sequence[Completion]]", seconds: float) -> None:
        """Add one `generate` call's results (prompt tokens counted once per prompt)."""
        self.calls += 1
        self.seconds += seconds
        for completions in results:
            self.record_request(completions)
