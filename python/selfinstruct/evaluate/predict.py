"""Predictions from any backend into the official JSONL {"id", "prediction"}, batched and resumable.

    items = load_superni("natural-instructions")
    summary = predict(items, create_backend(BackendConfig()), PredictConfig(Path("predictions.jsonl")))

Items are predicted in order, `prompts_per_call` prompts per backend call; each batch is appended and
fsynced before the next starts. Rerunning after a kill (even kill -9) skips the ids already in the
file. With greedy decoding (the default) the finished file is what an uninterrupted run writes;
with sampling, each batch's seed follows from `seed` and the batch's position.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..backends.base import Backend, SamplingParams, derive_seed
from .items import EvalItem
from .prediction_log import PredictionLog
from .prompts import DEFAULT_STOPS, PROMPT_STYLES, backend_chat_template, build_prompt


@dataclass
class PredictConfig:
    """How to predict; validated at construction. `stop=None` takes the prompt style's default stops."""

    output: Path
    prompt_style: str = "completion"
    num_pos_examples: int = 0
    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    stop: Optional[tuple[str, ...]] = None
    prompts_per_call: int = 16
    limit: Optional[int] = None
    seed: int = 0
    # Cut each instance's input to this many characters (None: never), for models whose context
    # cannot hold the longest SuperNI inputs; the definition and examples are kept whole.
    max_input_chars: Optional[int] = None

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt style {self.prompt_style!r} is unknown: use one of {', '.join(PROMPT_STYLES)}")
        for name, minimum in (("num_pos_examples", 0), ("max_tokens", 1), ("prompts_per_call", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        for name in ("limit", "max_input_chars"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}")
        if self.stop is not None:
            self.stop = tuple(self.stop)
        SamplingParams(self.max_tokens, self.temperature, self.top_p)  # its checks, at construction

    @property
    def stops(self) -> tuple[str, ...]:
        return DEFAULT_STOPS[self.prompt_style] if self.stop is None else tuple(self.stop)

    def settings(self) -> dict[str, Any]:
        """What shapes the predictions (compared when a run resumes); batch size and limit do not."""
        data = asdict(self)
        for key in ("output", "prompts_per_call", "limit"):
            data.pop(key)
        data["stop"] = list(self.stops)
        return data


@dataclass
class PredictSummary:
    """What a predict call did."""

    output: Path
    total: int = 0  # items asked for (after the limit)
    resumed: int = 0  # already in the file before this call
    written: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        rate = self.completion_tokens / self.seconds if self.seconds > 0 else 0.0
        per_item = self.seconds / self.written if self.written else 0.0
        text = (f"{self.output}: {self.resumed + self.written}/{self.total} predictions ({self.resumed} from an earlier "
                f"run, {self.written} new in {self.seconds:.1f} s, {per_item:.2f} s each, {rate:.1f} generated tok/s)")
        return "\n".join([text, *self.notes])


def check_resumable(config: PredictConfig, source: Optional[dict[str, Any]] = None) -> None:
    """Fail early (before a model loads) if `config.output` was written with other settings."""
    PredictionLog(config.output, {**config.settings(), **(source or {})}).check_settings()


def predict(items: Sequence[EvalItem], backend: Backend, config: PredictConfig,
            source: Optional[dict[str, Any]] = None, progress: bool = False) -> PredictSummary:
    """Predict every item not yet in `config.output` (the first `config.limit` items), durably.

    `source` describes the data and model (saved with the settings, so a resume with another
    data set or model is refused). Raises ValueError on duplicate item ids or a file from other settings.
    """
    ids = {item.id for item in items}
    if len(ids) != len(items):
        raise ValueError("duplicate item ids: every instance needs its own id")
    chosen = list(items[: config.limit] if config.limit else items)
    chat = backend_chat_template(backend) if config.prompt_style == "chat" else None
    params = dict(max_tokens=config.max_tokens, temperature=config.temperature, top_p=config.top_p, stop=config.stops)
    summary = PredictSummary(config.output, total=len(chosen))
    with PredictionLog(config.output, {**config.settings(), **(source or {})}) as log:
        foreign = [ident for ident in log.done if ident not in ids]
        if foreign:
            raise ValueError(f"{config.output} holds ids of another data set (e.g. {foreign[0]!r}): use another output file")
        todo = [(index, item) for index, item in enumerate(chosen) if item.id not in log.done]
        summary.resumed = len(chosen) - len(todo)
        bar = _progress_bar(len(chosen), summary.resumed, progress)
        started = time.perf_counter()
        try:
            for start in range(0, len(todo), config.prompts_per_call):
                batch = todo[start:start + config.prompts_per_call]
                prompts = [build_prompt(_cut_input(item, config.max_input_chars), config.prompt_style,
                                        config.num_pos_examples, chat) for _, item in batch]
                seed = derive_seed(config.seed, batch[0][0])
                results = backend.generate(prompts, SamplingParams(**params, seed=seed))  # type: ignore[arg-type]
                if len(results) != len(prompts) or any(len(group) != 1 for group in results):
                    raise RuntimeError(f"backend {getattr(backend, 'name', backend)!r} returned a wrong number of completions")
                log.append({item.id: group[0].text.strip() for (_, item), group in zip(batch, results)})
                summary.written += len(batch)
                summary.prompt_tokens += sum(group[0].prompt_tokens for group in results)
                summary.completion_tokens += sum(group[0].completion_tokens for group in results)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            summary.seconds = time.perf_counter() - started
            if bar is not None:
                bar.close()
    return summary


def _cut_input(item: EvalItem, limit: Optional[int]) -> EvalItem:
    if limit is None or len(item.input) <= limit:
        return item
    return dataclasses.replace(item, input=item.input[:limit])


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="pred", desc="predict", dynamic_ncols=True)
