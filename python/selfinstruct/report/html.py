"""The report as one self-contained HTML page: Table 1 and notes as HTML, figures drawn by an inlined
script (assets/report.js) from inlined JSON. No request leaves the page, so it opens offline."""
from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any, Optional

from .build import Report
from .figures import Figure

SECTIONS = (
    ("Novelty", ("novelty",)),
    ("Lengths", ("length-",)),
    ("Diversity", ("diversity-",)),
)
RUN_FIGURES = ("funnel-", "admission-", "throughput-")


def _asset(name: str) -> str:
    return resources.files("selfinstruct.report").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def _cell(value: Optional[float], digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"


def _table1(report: Report) -> str:
    rows = [
        ("distinct instructions", lambda t: t.instructions),
        ("classification instructions", lambda t: t.classification_instructions),
        ("instances", lambda t: t.instances),
        ("instances with empty input", lambda t: t.instances_with_empty_input),
        ("mean words: instruction", lambda t: t.mean_instruction_words),
        ("mean words: non-empty input", lambda t: t.mean_input_words),
        ("mean words: output", lambda t: t.mean_output_words),
    ]
    head = "".join(f"<th>{html.escape(d.name)}</th>" for d in report.datasets)
    body = "".join(f"<tr><td>{label}</td>" + "".join(f"<td>{_cell(get(t))}</td>" for t in report.tables) + "</tr>"
                   for label, get in rows)
    summary_rows = [
        ("mean ROUGE-L to the most similar seed", lambda s: _cell(s.mean_to_seed, 3)),
        ("mean pairwise ROUGE-L (sample)", lambda s: f"{_cell(s.pairwise_mean, 3)} (n={s.pairwise_sample:,})"),
        ("instructions with a verb–noun pair", lambda s: "—" if s.parsed is None else
            f"{s.verb_noun_pairs:,} of {s.parsed:,} parsed"),
    ]
    body += "".join(f"<tr><td>{label}</td>" + "".join(f"<td>{get(s)}</td>" for s in report.summaries) + "</tr>"
                    for label, get in summary_rows)
    return f"<table id=\"table1\"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(figure: Figure, pngs: dict[str, str]) -> str:
    link = f' <a href="{html.escape(pngs[figure["id"]])}">PNG</a>' if figure["id"] in pngs else ""
    return (f'<figure class="chart" data-figure="{html.escape(figure["id"])}" data-kind="{figure["kind"]}">'
            f'<figcaption>{html.escape(figure["title"])}{link}</figcaption><div class="plot"></div></figure>')


def _sources(report: Report) -> str:
    items = "".join(f"<li><b>{html.escape(d.name)}</b>: {html.escape(d.kind)} <span class=\"muted\">"
                    f"{html.escape(str(d.path))}</span></li>" for d in report.datasets)
    return f"<ul>{items}</ul>"


def _json_script(data: Any) -> str:
    # "<" escaped so no text in the data can close the script element
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def render_html(report: Report, pngs: Optional[dict[str, str]] = None, title: str = "Dataset report") -> str:
    """The whole page; `pngs` maps figure ids to the PNG file names to link (relative to the page)."""
    pngs = pngs or {}
    parts = [f"<h1>{html.escape(title)}</h1>", _sources(report), "<h2>Table 1: statistics</h2>", _table1(report),
             f'<p class="muted">Words are whitespace-separated. Novelty is measured against {html.escape(report.seed_label)}; '
             "ROUGE-L F as rouge-score computes it.</p>"]
    if report.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>")
    for heading, prefixes in SECTIONS:
        chosen = [f for f in report.figures if f["id"].startswith(prefixes)]
        if chosen:
            parts.append(f"<h2>{heading}</h2><div class=\"figures\">{''.join(_figure(f, pngs) for f in chosen)}</div>")
    for index, dataset in enumerate(report.datasets):
        chosen = [f for f in report.figures if f["id"] in {f"{p}{index}" for p in RUN_FIGURES}]
        if chosen:
            parts.append(f"<h2>The run: {html.escape(dataset.name)}</h2>"
                         f"<div class=\"figures\">{''.join(_figure(f, pngs) for f in chosen)}</div>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><link rel=\"icon\" href=\"data:,\">"
        f"<style>{_asset('report.css')}</style></head><body>\n"
        + "\n".join(parts)
        + "\n<div id=\"tooltip\" hidden></div>"
        f"\n<script type=\"application/json\" id=\"report-data\">{_json_script({'figures': report.figures})}</script>"
        f"\n<script>{_asset('report.js')}</script>\n</body></html>\n"
    )
