"""One shape for every generation step: build -> generate (streamed) -> parse -> filter -> commit.

A `Step` numbers its requests 0, 1, 2, ... and says how to build request i (`build`), what a
finished request adds (`take`: parse, filter, admit; drops go to the run log with their reason)
and when to stop (`stop_note`). `run()` is the one journal loop around them: it recovers the
journal and the run logs, streams requests through a `Window` of W in flight, takes results in
submission order, and commits every few results (with a batch-only backend: every window, so a
resumed run makes the same engine calls). A commit appends the run logs' new lines, the new records,
then the commit line with the step's state (next request, counters, log positions), each fsynced;
the journal's writer thread does that while the loop goes on (the fsyncs are off its path).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..backends.base import Backend, Completion
from ..backends.streaming import RoundsStream, open_stream
from .config import PipelineConfig
from .driver import Request, Window
from .files import state_path
from .journal import Journal
from .progress import StepProgress, StepSummary
from .prompts import chat_formatter
from .runlog import RunLog

# With a streaming backend, results are committed at least 4 times per window and at least every
# this many requests: a kill loses little, and the fsyncs (4 per commit) stay a small share of the work.
COMMIT_EVERY = 128


class Step:
    """Base of a generation step; subclasses provide the hooks below."""

    name = ""  # journal and state file name, e.g. "instructions"
    title = ""  # CLI and run-log name, e.g. "generate-instructions"
    unit = "item"
    kept_key = "kept"
    settings_sections: tuple[str, ...] = ()

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        self.config = config
        self.backend = backend
        self.chat = chat_formatter(backend, self.prompt_style())
        self.summary = StepSummary(self.title, kept_key=self.kept_key)
        self.log = RunLog(config.output_dir, self.title, self.summary.counts)
        self.window = config.window_for(self.batch_size())
        self.batch_only = True  # set by run() from the stream the backend gives
        self.build_lag = 0  # 1: request i+W is built after result i+1 is taken (see overlaps)

    # -- what a step provides ------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        raise NotImplementedError

    def prompt_style(self) -> str:
        return self.config.prompt_style

    def batch_size(self) -> int:
        """The step's own batch (round) size: the default window."""
        raise NotImplementedError

    def restore(self, journal: Journal, saved: dict[str, Any], start: int) -> None:
        """Take up what earlier runs committed (records streamed from the journal, the step's state)."""

    def build(self, index: int) -> Optional[Request]:
        raise NotImplementedError

    def take(self, request: Request, completions: list[Completion]) -> list[Any]:
        """Parse, filter and admit one finished request; return the records to commit (dicts, or
        their journal lines already encoded: see `Journal.commit`). A step that `overlaps` may
        leave part of the work running and return its records later, from `take` or `settle`."""
        raise NotImplementedError

    overlaps = False  # take() may finish a request's work during the next take(): builds lag one result

    def settle(self) -> list[Any]:
        """Finish what take() left running; its records (before a batch ends, a commit, the end)."""
        return []

    def stop_note(self) -> Optional[str]:
        """None to go on; a note ("" for none) to stop before the next request is taken."""
        return None

    def save(self) -> dict[str, Any]:
        """The step's own state for the commit line."""
        return {}

    def progress_total(self) -> tuple[Optional[int], int]:
        """(total, done so far) for the progress bar."""
        return None, 0

    def advanced(self, records: list[Any]) -> int:
        """How far the bar moves for one request's records."""
        return len(records)

    def pool_size(self) -> int:
        """What progress.jsonl calls pool_size: the step's kept items so far."""
        return self.summary.counts[self.kept_key]

    def idle(self) -> bool:
        """Work done while the engine has nothing finished; True while more is left."""
        return False

    def before_commit(self) -> None:
        """Make side work durable just before a commit."""

    def finish(self, journal: Journal) -> None:
        """After the loop (also when nothing was left to do): publish outputs."""

    def cleanup(self) -> None:
        """Stop side work (the step ended, or failed)."""

    def adopt(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The state to resume from for a data file found without its state file."""
        return {"next_request": len(records), "counts": {}}

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> StepSummary:
        config = self.config
        settings = config.step_settings(*self.settings_sections)
        with Journal(self.name, self.data_path, state_path(config, self.name), settings, background=True) as journal:
            try:
                return self._run(journal)
            finally:
                self.cleanup()

    def _run(self, journal: Journal) -> StepSummary:
        config = self.config
        state = journal.recover_state(adopt=self.adopt) or {}
        self.summary.counts.update(state.get("counts", {}))
        self.log.recover(state.get("logs"))
        start = state.get("next_request", 0)
        self.restore(journal, state.get("step") or {}, start)
        total, done = self.progress_total()
        progress = StepProgress(self.summary, total, done, config.progress, unit=self.unit)
        stats = getattr(self.backend, "stats", None)
        before = stats.copy() if hasattr(stats, "copy") else None
        try:
            note = self.stop_note()
            if note is None:
                note = self._stream(journal, start, progress)
            journal.wait()  # every commit durable before the outputs are made from them
        finally:
            progress.close()
        if before is not None and hasattr(stats, "since"):
            used = stats.since(before)
            if getattr(used, "cached_prompt_tokens", 0) and used.prompt_tokens:
                self.summary.prefix_cache_hit_rate = used.cached_prompt_tokens / used.prompt_tokens
        if note:
            self.summary.note = note
        self.finish(journal)
        self.summary.outputs = self.summary.outputs or (str(self.data_path),)
        return self.summary

    def _stream(self, journal: Journal, start: int, progress: StepProgress) -> Optional[str]:
        stream = open_stream(self.backend, self.window)
        self.batch_only = isinstance(stream, RoundsStream)
        # A batch-only backend runs each window as one call: builds must not lag, or the calls would change.
        # A window of one has no room to lag: each request waits for the previous admission.
        self.build_lag = 1 if self.overlaps and not self.batch_only and self.window > 1 else 0
        group = self.window if self.batch_only else max(1, min(self.window // 4, COMMIT_EVERY))
        window = Window(stream, self.window, self.build, self.idle if not self.batch_only else None, self.build_lag)
        pending: list[Any] = []
        position, note, dirty = start, None, False
        results = window.results(start)
        try:
            for request, completions in results:
                records = self.take(request, completions)
                prompt_tokens = completions[0].prompt_tokens if completions else 0
                completion_tokens = sum(c.completion_tokens for c in completions)
                self.log.batch.prompt_tokens += prompt_tokens
                self.log.batch.completion_tokens += completion_tokens
                progress.completed(prompt_tokens, completion_tokens, self.advanced(records))
                pending.extend(records)
                position, dirty = request.index + 1, True
                note = self.stop_note()
                if position % self.window == 0 or note is not None:
                    pending.extend(self.settle())
                    self.log.end_batch(self.pool_size())
                if position % group == 0 or position % self.window == 0 or note is not None:
                    pending.extend(self.settle())
                    self._commit(journal, pending, position)
                    pending, dirty = [], False
                if note is not None:
                    break
        finally:
            results.close()  # cancels what is still in flight
        if dirty:  # the step ran out of requests within a window
            pending.extend(self.settle())
            self.log.end_batch(self.pool_size())
            self._commit(journal, pending, position)
        return note

    def _commit(self, journal: Journal, records: list[Any], position: int) -> None:
        self.before_commit()
        appends, logs = self.log.take_appends()  # written by the journal (its writer thread), before the records
        journal.commit(records, {"next_request": position, "counts": dict(sorted(self.summary.counts.items())),
                                 "logs": logs, "step": self.save()}, appends)

