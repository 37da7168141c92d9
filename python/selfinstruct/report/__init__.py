"""Dataset reports: Table 1, novelty, lengths, verb–noun diversity and a run's own logs, as one
self-contained HTML page, PNG figures and a JSON of the statistics.

    from selfinstruct.report import ReportOptions, build_report, write_report
    report = build_report(["runs/demo", "alpaca_data.json"], ReportOptions())
    write_report(report, "report.html", "stats.json")
"""
from .build import Report, ReportOptions, build_report
from .sources import Dataset, load_source
from .stats import Table1, table1
from .write import write_report

__all__ = ["Dataset", "Report", "ReportOptions", "Table1", "build_report", "load_source", "table1", "write_report"]
