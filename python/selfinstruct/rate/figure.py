"""The stacked-bar figure of the ratings: one bar per model, split into the shares of A, B, C and D."""
from __future__ import annotations

import io
from typing import Any

from .levels import LEVELS
from .results import Results

INSTALL_HINT = 'the rating figure needs matplotlib: pip install "selfinstruct[rate]"'


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure


def draw_figure(results: Results) -> Any:
    """A matplotlib Figure: horizontal bars per model (first model on top), segments A (left) to D,
    labelled with their percentage when wide enough, and each bar's number of ratings."""
    # A bare Figure, not pyplot: no global state, so server threads may draw at the same time.
    rows = results.models
    figure = _figure_class()(figsize=(8.0, 1.5 + 0.45 * max(len(rows), 1)), layout="constrained")
    axes = figure.subplots()
    positions = list(range(len(rows)))[::-1]
    left = [0.0] * len(rows)
    for level in LEVELS:
        widths = [100.0 * row.share(level.letter) for row in rows]
        axes.barh(positions, widths, left=left, color=level.color, edgecolor="white", height=0.7,
                  label=f"{level.letter}: {level.name}")
        for position, start, width in zip(positions, left, widths):
            if width >= 6:
                text_color = "white" if level.letter in ("A", "D") else "black"
                axes.text(start + width / 2, position, f"{width:.0f}%", ha="center", va="center",
                          fontsize=8, color=text_color)
        left = [start + width for start, width in zip(left, widths)]
    axes.set_yticks(positions, [f"{row.model} (n={row.rated})" for row in rows], fontsize=9)
    axes.set_xlim(0, 100)
    axes.set_xlabel("share of ratings (%)")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    return figure


def figure_bytes(results: Results, fmt: str) -> bytes:
    """The figure encoded as `fmt` ("png" at 200 dpi, "svg", "pdf")."""
    buffer = io.BytesIO()
    draw_figure(results).savefig(buffer, format=fmt, dpi=200)
    return buffer.getvalue()


def figure_svg(results: Results) -> str:
    """The figure as an SVG element (text), to inline in an HTML page."""
    text = figure_bytes(results, "svg").decode("utf-8")
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: not allowed inside HTML
