"""The `dedup` command's library: exact greedy ROUGE-L deduplication of a file of records.

source.py reads an input once and decodes it; formats.py parses JSONL / JSON lists / text with
line numbers; outputs.py checks and publishes the kept/rejects pair both-or-neither; coverage.py
warns about texts without tokens; run.py ties them together in `dedup_file`; cli.py is the command.
"""
from .outputs import OutputError
from .run import DEFAULT_BATCH, MAX_THREADS, DedupSummary, dedup_file, default_output_path, rejects_path_for

__all__ = ["DEFAULT_BATCH", "MAX_THREADS", "DedupSummary", "OutputError", "dedup_file", "default_output_path", "rejects_path_for"]
