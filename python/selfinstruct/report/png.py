"""PNG files of the figures (matplotlib, headless), for papers and READMEs."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any, Callable

from ..atomic_files import write_atomic
from .figures import Figure

INSTALL_HINT = 'PNG figures need matplotlib: pip install "selfinstruct[report]" (or pass --no-png)'
COLORS = ["#3b6ea8", "#e07b39", "#4f9a5c", "#b04a5a", "#7a62a8", "#8c6d46", "#c768a8", "#6c6c6c"]


def require_matplotlib() -> None:
    """Fail early, with the install hint, when matplotlib is missing."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(INSTALL_HINT)


def _histogram(ax: Any, figure: Figure) -> None:
    series = figure["series"]
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        shares = [c / s["total"] if s["total"] else 0 for c in s["counts"]]
        ax.bar([x + (i - (len(series) - 1) / 2) * width for x in range(len(shares))], shares, width,
               label=s["name"], color=COLORS[i % len(COLORS)])
    labels = figure["labels"]
    step = max(1, len(labels) // 10)
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], rotation=30, ha="right")
    ax.set_xlabel(figure["x_label"])
    ax.set_ylabel("share")
    ax.legend()


def _sunburst(ax: Any, figure: Figure) -> None:
    verbs = figure["verbs"]
    inner = [v["count"] for v in verbs]
    colors = [COLORS[i % len(COLORS)] for i in range(len(verbs))]
    total = sum(inner)
    labels = [v["name"] if v["count"] >= 0.025 * total else "" for v in verbs]  # no unreadable slivers
    ax.pie(inner, radius=0.62, labels=labels, labeldistance=0.55, colors=colors,
           wedgeprops={"width": 0.42, "edgecolor": "white"}, textprops={"fontsize": 7}, startangle=90, counterclock=False)
    outer, outer_labels, outer_colors = [], [], []
    for v, color in zip(verbs, colors):
        for n in v["nouns"]:
            outer.append(n["count"]), outer_labels.append(n["name"]), outer_colors.append(color)
        rest = v["count"] - sum(n["count"] for n in v["nouns"])
        if rest:
            outer.append(rest), outer_labels.append(""), outer_colors.append("#f2f2f2")
    ax.pie(outer, radius=1.0, labels=outer_labels, labeldistance=0.8, colors=outer_colors, rotatelabels=True,
           wedgeprops={"width": 0.38, "edgecolor": "white", "alpha": 0.75}, textprops={"fontsize": 6},
           startangle=90, counterclock=False)
    ax.set_aspect("equal")


def _funnel(ax: Any, figure: Figure) -> None:
    labels, values, colors = [], [], []
    for step in figure["steps"]:
        if step["candidates"] is not None:
            labels.append(f"{step['step']}: candidates"), values.append(step["candidates"]), colors.append(COLORS[0])
        for reason in step["reasons"]:
            labels.append(f"  dropped: {reason['reason']}"), values.append(reason["count"]), colors.append(COLORS[3])
        if step["kept"] is not None:
            labels.append(f"{step['step']}: kept"), values.append(step["kept"]), colors.append(COLORS[2])
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("candidates")


def _line(ax: Any, figure: Figure) -> None:
    for i, s in enumerate(figure["series"]):
        ax.plot([p[0] for p in s["points"]], [p[1] for p in s["points"]], marker="o", markersize=3,
                label=s["name"], color=COLORS[i % len(COLORS)])
    ax.set_xlabel(figure["x_label"])
    ax.set_ylabel(figure["y_label"])
    ax.legend()


DRAWERS: dict[str, Callable[[Any, Figure], None]] = {
    "histogram": _histogram, "sunburst": _sunburst, "funnel": _funnel, "line": _line,
}


def save_png(figure: Figure, path: Path) -> None:
    """Draw one figure to a PNG, published whole (a reader never sees part of one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sum(2 + len(step["reasons"]) for step in figure["steps"]) if figure["kind"] == "funnel" else 0
    size = (7, 7) if figure["kind"] == "sunburst" else (7, max(3.5, 0.25 * rows + 1))
    fig, ax = plt.subplots(figsize=size, dpi=150)
    try:
        DRAWERS[figure["kind"]](ax, figure)
        ax.set_title(figure["title"], fontsize=10)
        fig.tight_layout()
        drawn = io.BytesIO()
        fig.savefig(drawn, format="png")
        write_atomic(path, drawn.getvalue())
    finally:
        plt.close(fig)


def save_pngs(figures: list[Figure], prefix: Path) -> list[Path]:
    """One PNG per figure, named <prefix>-<figure id>.png; returns their paths."""
    require_matplotlib()
    paths = []
    for figure in figures:
        path = prefix.with_name(f"{prefix.name}-{figure['id']}.png")
        save_png(figure, path)
        paths.append(path)
    return paths
