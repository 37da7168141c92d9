"""The four quality levels a rater chooses from (the Self-Instruct paper's A-D scale, in our words)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One rating level: its letter, a short name, what it means, and its colour in figures."""

    letter: str
    name: str
    meaning: str
    color: str


LEVELS: tuple[Level, ...] = (
    Level("A", "Valid and satisfying",
          "The response does what the instruction asks, correctly and completely; you would use it as it is.",
          "#2e7d32"),
    Level("B", "Acceptable, minor flaws",
          "The response fulfils the task, with small imperfections: a slip, an awkward phrase, a missing detail "
          "that does not change its usefulness.",
          "#9ccc65"),
    Level("C", "Relevant, significant errors",
          "The response addresses the instruction, but its content has serious mistakes or omissions.",
          "#ffa726"),
    Level("D", "Irrelevant or invalid",
          "The response does not address the instruction, is empty or cut off, repeats the input, or is "
          "otherwise unusable.",
          "#c62828"),
)

LETTERS: tuple[str, ...] = tuple(level.letter for level in LEVELS)

# Acceptable (A, B) against not acceptable (C, D): the two-class view of agreement.
ACCEPTABLE: frozenset[str] = frozenset({"A", "B"})
