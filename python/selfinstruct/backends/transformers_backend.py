"""Hugging Face transformers backend: batched, left-padded generation on CPU (or one GPU).

Sampling follows vLLM/OpenAI semantics rather than transformers' defaults: penalties on the
completion's own tokens, then temperature, then top-p, and no top-k. `generate`: each
micro-batch draws from its own torch.Generator seeded from (round seed, batch position), so a
round's output depends only on its seed, prompts, batch size and thread count, never on what ran
before (and the global torch RNG is left alone). `generate_with_seeds`: each sequence draws from
its own generator seeded from its prompt's seed, in the same batches; its logits still depend on
the batch it shares (padding and batched arithmetic), so the same seed gives the same tokens for
the same batch, and statistically the same otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import time
from typing import Any, Callable, Sequence

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
from .embedded import EMBEDDED_EXTRA_HINT, embedded_model_dir


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest occurrence of any stop string; report whether one was found."""
    positions = [index for index in (text.find(stop) for stop in stops if stop) if index >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


class TransformersBackend:
    """Generates with `transformers` `generate`, in micro-batches of `config.batch_size` sequences."""

    name = "transformers"

    def __init__(self, config: BackendConfig) -> None:
        missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise MissingDependencyError(
                f"the transformers backend needs {' and '.join(missing)}: run `{EMBEDDED_EXTRA_HINT}` "
                "(on a CPU-only machine install a CPU build of torch first, e.g. `pip install torch==2.13.0`)"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config
        self.stats = GenerationStats()
        self._calls = 0
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.dtype = resolve_dtype(config.dtype, self.device)
        if config.model is None:
            self.model_path = str(embedded_model_dir("float32" if self.dtype == "float32" else "bfloat16"))
            local_only = True
        else:
            self.model_path = config.model
            local_only = os.path.isdir(config.model)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=local_only)
        self.tokenizer.padding_side = "left"
        dtype_key = "dtype" if _transformers_major() >= 5 else "torch_dtype"
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_path, local_files_only=local_only, **{dtype_key: getattr(torch, self.dtype)}
        )
        self.model.to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.pad_id = self.tokenizer.pad_token_id

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        """Return `params.n` completions per prompt, in prompt order."""
        round_seed = params.seed if params.seed is not None else derive_seed(self.config.seed, self._calls)
        return self._generate(prompts, params, lambda start, chunk: derive_seed(round_seed, start))

    def generate_with_seeds(self, prompts: Sequence[str], params: SamplingParams,
                            seeds: Sequence[int | None]) -> list[list[Completion]]:
        """Like `generate`, but prompt i samples with its own seed `seeds[i]` (`params.seed` is
        ignored; None: one derived from the backend seed), in one batched call. What a stream of
        requests with per-request seeds needs from a batch-only backend."""
        if len(seeds) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        calls = self._calls
        own = [seed if seed is not None else derive_seed(self.config.seed, calls, i) for i, seed in enumerate(seeds)]
        return self._generate(prompts, params, lambda start, chunk: [derive_seed(own[p], s) for p, s in chunk])

    def _generate(self, prompts: Sequence[str], params: SamplingParams,
                  seeding: Callable[[int, list[tuple[int, int]]], int | list[int]]) -> list[list[Completion]]:
        """One batched run; `seeding(start, chunk)` gives a micro-batch one seed or one per sequence."""
        if self.model is None:
            raise BackendError("the transformers backend is closed")
        if not prompts:
            return []
        started = time.perf_counter()
        self._calls += 1
        encoded = self.tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
        # One sequence per (prompt, sample); grouping similar lengths keeps padding small.
        order = sorted(
            ((p, s) for p in range(len(prompts)) for s in range(params.n)), key=lambda ps: len(encoded[ps[0]])
        )
        results: list[list[Completion | None]] = [[None] * params.n for _ in prompts]
        size = self.config.batch_size
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            completions = self._generate_batch([encoded[p] for p, _ in chunk], params, seeding(start, chunk))
            for (p, s), completion in zip(chunk, completions):
                results[p][s] = completion
        final = [[c for c in row if c is not None] for row in results]
        self.stats.record(final, time.perf_counter() - started)
        return final

    def _generate_batch(self, sequences: list[list[int]], params: SamplingParams, seed: int | list[int]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        batch = self.tokenizer.pad({"input_ids": sequences}, padding=True, return_tensors="pt")
        input_ids = batch["input_ids"].to(self.device)
        attention_mask = batch["attention_mask"].to(self.device)
        prompt_len = input_ids.shape[1]
        processors = LogitsProcessorList()
        if params.presence_penalty or params.frequency_penalty:
            processors.append(_PenaltyProcessor(prompt_len, params.presence_penalty, params.frequency_penalty))
        if params.temperature > 0:
            seeds = seed if isinstance(seed, list) else [seed]
            generators = [torch.Generator(device=self.device).manual_seed(value) for value in seeds]
            processors.append(_Sampler(params.temperature, params.top_p, generators))
        stopper = _StopStrings(self.tokenizer, params.stop, prompt_len, len(sequences), self.eos_ids)
        criteria = StoppingCriteriaList([stopper]) if params.stop else StoppingCriteriaList()
        # transformers' own sampling is greedy here: `_Sampler` leaves one finite logit per row.
        # Unset fields are filled from the model's generation_config.json (a repetition penalty,
        # top-k ...); pin them neutral so only `params` decides.
        generation_config = GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=False,
            num_beams=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids),
        )
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=generation_config,
                logits_processor=processors,
                stopping_criteria=criteria,
            )
        prompt_counts = attention_mask.sum(dim=1).tolist()
        completions = []
        for row, generated in enumerate(output[:, prompt_len:].tolist()):
            completions.append(self._finish(generated, stopper.stopped_at[row], params, int(prompt_counts[row])))
        return completions

    def _finish(self, generated: list[int], stopped_at: int | None, params: SamplingParams, prompt_tokens: int) -> Completion:
        eos_at = next((i for i, token in enumerate(generated) if token in self.eos_ids), None)
        if stopped_at is not None and (eos_at is None or stopped_at <= eos_at):
            tokens, count, reason = generated[:stopped_at], stopped_at, "stop"
        elif eos_at is not None:
            tokens, count, reason = generated[:eos_at], eos_at + 1, "stop"
        else:
            tokens, count, reason = generated, len(generated), "length"
        text = self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        text, found = cut_at_stop(text, params.stop)
        if found:
            reason = "stop"
        return Completion(text=text, finish_reason=reason, prompt_tokens=prompt_tokens, completion_tokens=count)

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """`messages` in the model's chat template, as prompt text ending where the assistant's reply
        starts (what `--prompt-style chat` sends through `generate`)."""
        if self.tokenizer is None:
            raise BackendError("the transformers backend is closed")
        return render_chat(self.tokenizer, messages)

    def close(self) -> None:
        """Drop the model (idempotent)."""
        self.model = None
        self.tokenizer = None


def _transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


class _PenaltyProcessor:
    """OpenAI's presence/frequency penalties over the tokens generated so far in each sequence:
    logit -= frequency * count + presence * (count > 0). The prompt is not counted.

    Works on the generated ids only (gather/scatter), not on vocabulary-sized temporaries.
    """

    def __init__(self, prompt_len: int, presence: float, frequency: float) -> None:
        self.prompt_len = prompt_len
        self.presence = presence
        self.frequency = frequency

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        generated = input_ids[:, self.prompt_len :]
        if generated.shape[1] == 0:
            return scores
        # Duplicate ids gather the same original value and write the same result: presence once.
        scores = scores.scatter(1, generated, scores.gather(1, generated) - self.presence)
        if self.frequency:
            scores.scatter_add_(1, generated, scores.new_full(generated.shape, -self.frequency))
        return scores


class _Sampler:
    """Draws the next token (temperature, then top-p) from private generators (one for the whole
    batch, or one per row) and returns logits where only that token is finite, so transformers'
    greedy step picks it.

    Cheaper than transformers' warpers on CPU, where a full-vocabulary sort per step cost more
    than the model: the nucleus is searched among the top 64 tokens first (widened only if
    their mass is below top_p), and drawing is an inverse-CDF lookup in float64.
    """

    def __init__(self, temperature: float, top_p: float, generators: Any) -> None:
        self.temperature = temperature
        self.top_p = top_p
        self.generators = generators if isinstance(generators, list) else [generators]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        logits = scores.float()
        if self.temperature != 1.0:
            logits = logits / self.temperature
        if self.top_p < 1.0:
            ids, weights = self._nucleus(logits)
        else:
            ids, weights = None, torch.softmax(logits, dim=-1)
        cumulative = weights.double().cumsum(dim=-1)
        rows = cumulative.shape[0]
        if len(self.generators) == 1:
            draw = torch.rand((rows, 1), generator=self.generators[0], dtype=torch.float64, device=cumulative.device)
        else:  # row i always draws from generator i, whatever the other rows do
            draw = torch.cat([torch.rand((1, 1), generator=generator, dtype=torch.float64, device=cumulative.device)
                              for generator in self.generators])
        picked = torch.searchsorted(cumulative, draw * cumulative[:, -1:], right=True)
        picked = picked.clamp_(max=cumulative.shape[1] - 1)
        tokens = picked if ids is None else ids.gather(1, picked)
        return torch.full_like(scores, float("-inf")).scatter_(1, tokens, 0.0)

    def _nucleus(self, logits: Any) -> tuple[Any, Any]:
        """Top-p as OpenAI/vLLM define it: keep the most likely tokens until their mass reaches
        top_p (a token is kept when the mass strictly above it is below top_p)."""
        import torch

        vocab = logits.shape[-1]
        log_total = torch.logsumexp(logits, dim=-1, keepdim=True)
        k = min(vocab, 64)
        while True:
            values, ids = torch.topk(logits, k, dim=-1)
            probs = (values - log_total).exp()
            cumulative = probs.cumsum(dim=-1)
            if k == vocab or bool((cumulative[:, -1] >= self.top_p).all()):
                break
            k = min(vocab, k * 8)
        keep = (cumulative - probs) < self.top_p
        keep[:, 0] = True
        return ids, probs * keep


class _StopStrings:
    """Stops each sequence once its text contains a stop string.

    Only a window of the newest tokens is decoded per step: a new occurrence must end in the
    newest token, and a stop string of k characters spans at most k tokens (plus a few for
    multi-byte characters split across tokens). Records where each sequence stopped.
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_len: int, batch: int, eos_ids: set[int]) -> None:
        self.tokenizer = tokenizer
        self.stops = [stop for stop in stops if stop]
        self.window = max((len(stop) for stop in self.stops), default=0) + 4
        self.prompt_len = prompt_len
        self.eos_ids = eos_ids
        self.stopped_at: list[int | None] = [None] * batch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        generated_len = input_ids.shape[1] - self.prompt_len
        if generated_len <= 0 or not self.stops:
            return done
        tails = input_ids[:, max(self.prompt_len, input_ids.shape[1] - self.window) :].tolist()
        for row, tail in enumerate(tails):
            if self.stopped_at[row] is not None:
                done[row] = True
                continue
            if self.eos_ids.intersection(tail):
                continue  # finished by end of sequence (its padding repeats the EOS id)
            text = self.tokenizer.decode(tail, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            if any(stop in text for stop in self.stops):
                self.stopped_at[row] = generated_len
                done[row] = True
        return done
