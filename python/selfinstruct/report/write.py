"""Writing a report: the HTML page, the PNG figures next to it, and the --json statistics."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..records import write_atomic
from .build import Report
from .html import render_html
from .png import require_matplotlib, save_pngs


def write_report(report: Report, html_path: str | Path, json_path: Optional[str | Path] = None,
                 png: bool = True) -> list[Path]:
    """Write report.html (and report-<figure>.png beside it, and the JSON); returns the paths written.

    PNGs need matplotlib: without it this fails before writing anything, with the install hint.
    """
    html_path = Path(html_path)
    if png:
        require_matplotlib()
    html_path.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pngs: dict[str, str] = {}
    if png:
        paths = save_pngs(report.figures, html_path.with_suffix(""))
        pngs = {figure["id"]: path.name for figure, path in zip(report.figures, paths)}
        written.extend(paths)
    write_atomic(html_path, render_html(report, pngs))
    written.insert(0, html_path)
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json_path, json.dumps(report.stats_json(), indent=2, ensure_ascii=False) + "\n")
        written.append(json_path)
    return written
