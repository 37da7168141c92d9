"""Building a report: sources in, Table 1 rows, figure data, per-source summaries and notes out."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..seeds import default_seed_path
from .diversity import count_verb_nouns, load_parser
from .figures import (Figure, admission_figure, funnel_figure, length_figures, novelty_figure, sunburst_figure,
                      throughput_figure)
from .formats import read_content
from .novelty import novelty
from .sources import Dataset, load_source
from .stats import Table1, table1


@dataclass(frozen=True)
class ReportOptions:
    """How a report is made; validated at construction.

    seeds: the seed tasks (or any instruction file) novelty is measured against; None: the seed file
    a run directory was configured with, else the package's 175 seed tasks.
    pairwise_sample: instructions per source in the mean pairwise ROUGE-L (all pairs of the sample).
    diversity_sample: parse at most this many instructions per source for the verb–noun figure (None: all).
    processes: spaCy worker processes. diversity: False leaves the verb–noun figure out.
    """

    seeds: Optional[Path] = None
    pairwise_sample: int = 2000
    diversity_sample: Optional[int] = None
    processes: int = 1
    diversity: bool = True
    threads: Optional[int] = None
    examples_per_reason: int = 3

    def __post_init__(self) -> None:
        if self.pairwise_sample < 2:
            raise ValueError(f"pairwise_sample={self.pairwise_sample}: needs at least 2 instructions")
        if self.diversity_sample is not None and self.diversity_sample < 1:
            raise ValueError(f"diversity_sample={self.diversity_sample}: give a positive number, or None for all")
        if self.processes < 1:
            raise ValueError(f"processes={self.processes}: give at least 1")
        if self.examples_per_reason < 0:
            raise ValueError(f"examples_per_reason={self.examples_per_reason} is negative")


@dataclass
class SourceSummary:
    """The numbers printed beside the figures for one source."""

    name: str
    kind: str
    path: str
    mean_to_seed: Optional[float]
    pairwise_mean: Optional[float]
    pairwise_sample: int
    verb_noun_pairs: Optional[int] = None
    parsed: Optional[int] = None


@dataclass
class Report:
    """Everything a report shows; `html.render_html` and `png.save_pngs` draw it."""

    datasets: list[Dataset]
    tables: list[Table1]
    summaries: list[SourceSummary]
    figures: list[Figure]
    seed_label: str
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def stats_json(self) -> dict[str, Any]:
        """The --json content: {source name: Table 1 object} in the order the sources were given."""
        return {dataset.name: table.to_json() for dataset, table in zip(self.datasets, self.tables)}


def unique_names(paths: Sequence[str | Path]) -> list[str]:
    """Short, distinct source names: the file or folder name, with its parent folder where two clash,
    and a number where they still do (the same path given twice)."""
    names = [Path(p).name or str(p) for p in paths]
    names = [str(Path(*Path(p).parts[-2:])) if names.count(n) > 1 else n for p, n in zip(paths, names)]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _seed_instructions(options: ReportOptions, datasets: Sequence[Dataset]) -> tuple[list[str], str]:
    configured = next((d.seed_file for d in datasets if d.seed_file is not None and d.seed_file.is_file()), None)
    path = options.seeds or configured or default_seed_path()
    instructions = list(dict.fromkeys(read_content(Path(path)).instructions))
    label = "the package's seed tasks" if path == default_seed_path() else Path(path).name
    return instructions, f"{len(instructions)} seed instructions ({label})"


def _run_figures(index: int, dataset: Dataset) -> list[Figure]:
    logs = dataset.run
    if logs is None:
        return []
    kept = {"generate-instructions": len(dataset.instructions), "generate-tasks": len(dataset.instructions)}
    if dataset.instances is not None:
        kept["prepare-finetuning"] = len(dataset.instances)
    made = [funnel_figure(index, dataset.name, logs, kept), admission_figure(index, dataset.name, logs),
            throughput_figure(index, dataset.name, logs)]
    return [figure for figure in made if figure is not None]


def build_report(sources: Sequence[str | Path], options: Optional[ReportOptions] = None,
                 log: Callable[[str], None] = lambda message: None) -> Report:
    """Read every source and compute the report (nothing is written)."""
    options = options or ReportOptions()
    if not sources:
        raise ValueError("give at least one source (a run directory or a dataset file)")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    datasets = [load_source(path, name) for path, name in zip(sources, unique_names(sources))]
    timings["load"] = time.perf_counter() - start
    notes = [f"{d.name}: {note}" for d in datasets for note in d.notes]
    for d in datasets:
        if d.classification is not None and len(set(d.instructions) & set(d.classification)) < len(d.instructions):
            known = len(set(d.instructions) & set(d.classification))
            notes.append(f"{d.name}: classification known for {known} of {len(d.instructions)} instructions "
                         "(the others count as not classification)")
    tables = [table1(d) for d in datasets]

    start = time.perf_counter()
    seeds, seed_label = _seed_instructions(options, datasets)
    for d in datasets:
        if options.seeds is None and d.seed_file is not None and not d.seed_file.is_file():
            notes.append(f"{d.name}: made with seed file {d.seed_file}, not found here; novelty is against {seed_label}")
    measured = [novelty(d.instructions, seeds, options.pairwise_sample, options.threads) for d in datasets]
    summaries = [SourceSummary(d.name, d.kind, str(d.path), float(m.to_seed.mean()) if len(m.to_seed) else None,
                               m.pairwise_mean, m.pairwise_sample) for d, m in zip(datasets, measured)]
    figures: list[Figure] = []
    if any(len(m.to_seed) for m in measured):
        figures.append(novelty_figure([(d.name, m.to_seed) for d, m in zip(datasets, measured)], seed_label))
    timings["novelty"] = time.perf_counter() - start
    figures.extend(length_figures(datasets))

    if options.diversity:
        start = time.perf_counter()
        nlp, model = load_parser()
        if nlp is None:
            notes.append(f"verb–noun figure left out: {model}")
        else:
            for index, (d, summary) in enumerate(zip(datasets, summaries)):
                log(f"parsing {d.name} with {model}")
                counts = count_verb_nouns(nlp, d.instructions, model, options.diversity_sample, options.processes)
                summary.verb_noun_pairs, summary.parsed = sum(counts.pairs.values()), counts.parsed
                figure = sunburst_figure(index, d.name, counts)
                if figure is None:
                    notes.append(f"{d.name}: no instruction starts with a verb and its object; no verb–noun figure")
                else:
                    figures.append(figure)
        timings["diversity"] = time.perf_counter() - start
    for index, d in enumerate(datasets):
        figures.extend(_run_figures(index, d))
    return Report(datasets, tables, summaries, figures, seed_label, notes, timings)
