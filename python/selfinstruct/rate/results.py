"""What the ratings say: a table of levels per model, per rater, and the raters' agreement."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

from .agreement import PairAgreement, pairwise_agreement
from .levels import LETTERS
from .store import Rating, latest_ratings


@dataclass(frozen=True)
class ModelCounts:
    """How often a model's responses got each level (one vote per rater and response)."""

    model: str
    counts: dict[str, int]

    @property
    def rated(self) -> int:
        """The number of (rater, response) ratings counted."""
        return sum(self.counts.values())

    def share(self, letter: str) -> float:
        """The fraction of ratings at `letter` (0 when nothing was rated)."""
        return self.counts[letter] / self.rated if self.rated else 0.0


@dataclass(frozen=True)
class Results:
    """The ratings summarised: counts per model (all raters together and per rater) and agreement."""

    models: list[ModelCounts]
    by_rater: dict[str, list[ModelCounts]]
    agreement: list[PairAgreement]
    ratings_given: int = field(default=0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: `models` (counts and shares), `by_rater`, `agreement`, `ratings_given`."""
        def table(rows: list[ModelCounts]) -> list[dict[str, Any]]:
            return [{"model": row.model, "rated": row.rated, "counts": dict(row.counts),
                     "shares": {letter: row.share(letter) for letter in LETTERS}} for row in rows]
        return {
            "levels": list(LETTERS),
            "ratings_given": self.ratings_given,
            "models": table(self.models),
            "by_rater": {rater: table(rows) for rater, rows in self.by_rater.items()},
            "agreement": [asdict(pair) for pair in self.agreement],
        }

    def markdown(self) -> str:
        """The per-model table and the agreement table in Markdown."""
        lines = ["| model | rated | " + " | ".join(LETTERS) + " | A+B |",
                 "|---|---:|" + "---:|" * (len(LETTERS) + 1)]
        for row in self.models:
            cells = [f"{row.counts[letter]} ({100 * row.share(letter):.1f}%)" for letter in LETTERS]
            acceptable = row.counts["A"] + row.counts["B"]
            share = 100 * acceptable / row.rated if row.rated else 0.0
            lines.append(f"| {row.model} | {row.rated} | " + " | ".join(cells) + f" | {share:.1f}% |")
        if self.agreement:
            lines += ["", "| raters | shared responses | agreement | kappa (A-D) | kappa (A/B vs C/D) |",
                      "|---|---:|---:|---:|---:|"]
            for pair in self.agreement:
                lines.append(f"| {pair.rater_a} / {pair.rater_b} | {pair.shared} | {_number(pair.observed)} | "
                             f"{_number(pair.kappa)} | {_number(pair.kappa_acceptable)} |")
        return "\n".join(lines) + "\n"


def _number(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _count(latest: dict[tuple[str, str, str], str], models: Sequence[str]) -> list[ModelCounts]:
    counts = {model: dict.fromkeys(LETTERS, 0) for model in models}
    for (_, _, model), rating in latest.items():
        counts[model][rating] += 1
    return [ModelCounts(model, counts[model]) for model in models]


def summarize(ratings: Sequence[Rating], models: Optional[Sequence[str]] = None) -> Results:
    """Summarise ratings (in the order given; a re-rating replaces the earlier one).

    `models` fixes the table's rows and their order (models never rated get zero rows); by default the
    rated models, sorted by name. Ratings of models not in `models` are left out.
    """
    latest = latest_ratings(list(ratings))
    if models is None:
        models = sorted({model for _, _, model in latest})
    wanted = set(models)
    latest = {key: rating for key, rating in latest.items() if key[2] in wanted}
    raters = sorted({rater for rater, _, _ in latest})
    by_rater = {rater: _count({k: v for k, v in latest.items() if k[0] == rater}, models) for rater in raters}
    return Results(_count(latest, models), by_rater, pairwise_agreement(latest), ratings_given=len(ratings))
