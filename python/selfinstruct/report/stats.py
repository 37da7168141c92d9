"""Table 1 of the paper for one dataset: counts and mean lengths in whitespace-separated words."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .sources import Dataset


def words(text: str) -> int:
    """Whitespace-separated words (the paper's length unit)."""
    return len(text.split())


def _mean(values: Sequence[int]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def is_empty_input(text: str) -> bool:
    """An input is empty when it has no non-whitespace character."""
    return not text.strip()


@dataclass(frozen=True)
class Table1:
    """The dataset statistics; None where the source does not tell (no instances, no classification)."""

    instructions: int
    classification_instructions: Optional[int]
    instances: Optional[int]
    instances_with_empty_input: Optional[int]
    mean_instruction_words: Optional[float]
    mean_input_words: Optional[float]  # over instances with a non-empty input
    mean_output_words: Optional[float]

    def to_json(self) -> dict[str, Any]:
        """The --json object: exactly the keys documented in docs/report.md."""
        return {
            "instructions": self.instructions,
            "classification_instructions": self.classification_instructions,
            "instances": self.instances,
            "instances_with_empty_input": self.instances_with_empty_input,
            "mean_words": {
                "instruction": self.mean_instruction_words,
                "input_nonempty": self.mean_input_words,
                "output": self.mean_output_words,
            },
        }


def table1(dataset: Dataset) -> Table1:
    """Count a dataset: distinct instructions, their classification share, instances and mean lengths."""
    clf = None
    if dataset.classification is not None:
        clf = sum(1 for text in dataset.instructions if dataset.classification.get(text, False))
    instances = dataset.instances
    if instances is None:
        return Table1(len(dataset.instructions), clf, None, None, _mean([words(t) for t in dataset.instructions]), None, None)
    inputs = [words(inp) for _, inp, _ in instances if not is_empty_input(inp)]
    return Table1(
        instructions=len(dataset.instructions),
        classification_instructions=clf,
        instances=len(instances),
        instances_with_empty_input=len(instances) - len(inputs),
        mean_instruction_words=_mean([words(text) for text in dataset.instructions]),
        mean_input_words=_mean(inputs),
        mean_output_words=_mean([words(out) for _, _, out in instances]),
    )
