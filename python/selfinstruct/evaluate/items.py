"""What evaluation and prediction share: one evaluation instance and its references."""
from __future__ import annotations

from dataclasses import dataclass

TRACKS = ("default", "xlingual")


@dataclass(frozen=True)
class EvalItem:
    """One instance to predict and score.

    `instruction` is the task's definition (SuperNI) or instruction; `examples` are the task's
    positive (input, output) demonstrations, for k-shot prompts; `references` the gold outputs
    (empty when a file has none: such items can be predicted, not scored). `task_id` and
    `category` feed the per-task and per-category metrics (None: not reported), `track` says
    which tokenizer scores it ("default", or "xlingual" for the GPT-2 tokenizer).
    """

    id: str
    instruction: str
    input: str = ""
    references: tuple[str, ...] = ()
    task_id: str | None = None
    category: str | None = None
    track: str = "default"
    examples: tuple[tuple[str, str], ...] = ()
