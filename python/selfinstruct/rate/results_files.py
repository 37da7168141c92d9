"""Writing the results of a ratings file: JSON, Markdown, the figure (PNG, SVG) and an HTML page."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

from ..atomic_files import write_atomic
from .figure import figure_bytes, figure_svg
from .levels import LEVELS
from .results import Results, summarize
from .store import read_ratings

RESULT_FILES = ("results.json", "results.md", "ratings.png", "ratings.svg", "results.html")


def render_results_page(results: Results) -> str:
    """A self-contained HTML page (no scripts, no network): figure, tables and agreement, with model names."""
    import jinja2  # installed with Flask, the `rate` extra

    environment = jinja2.Environment(loader=jinja2.PackageLoader("selfinstruct.rate", "templates"),
                                     autoescape=True)
    return environment.get_template("results.html").render(results=results, levels=LEVELS,
                                                             svg=figure_svg(results))


def write_results(
    ratings_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    models: Optional[Sequence[str]] = None,
) -> Results:
    """Summarise a ratings file and write RESULT_FILES into `output_dir` (created if needed).

    Every file is rendered before any is written, and each is replaced atomically.
    """
    results = summarize(read_ratings(ratings_path), models)
    rendered = {
        "results.json": (json.dumps(results.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "results.md": results.markdown().encode("utf-8"),
        "ratings.png": figure_bytes(results, "png"),
        "ratings.svg": figure_bytes(results, "svg"),
        "results.html": render_results_page(results).encode("utf-8"),
    }
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
        write_atomic(output / name, rendered[name])
    return results
