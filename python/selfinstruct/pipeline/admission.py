"""Generation steps that grow the ROUGE-L pool: step 1 (instructions) and Alpaca mode (tasks).

Request i shows pool entries admitted by requests up to i - W (W: the window), drawn with its own
RNG; its completion is parsed into candidates (the step's `candidates`), filtered (drops logged with
their reason), and admitted through the exact pool: rejected iff F > threshold against a seed or
any earlier admission, earlier candidates of the same request included. A too-similar reject is
logged with its most similar pool entry and score. Stops at exactly `num_instructions` (a last
request's surplus is dropped) or after `--max-stalled-rounds` windows in a row admit nothing.

With a streaming backend the pool's admission of request i runs on a thread (the C++ call releases
the GIL) while the loop parses and filters request i+1; the window then builds request i+W after
result i+1 (see driver.Window's lag), which gives the same prompts.

The journal keeps the admitted records (without similarity fields) in state/<step>.records.jsonl;
similarity fields are computed off the admission path (see similarity.py). When the step ends, the
output file (reference format, fields included) is written from both, atomically.
"""
from __future__ import annotations

import array
import bisect
import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

from .. import Pool
from ..backends.base import Backend, Completion, SamplingParams
from ..filters import InstructionFilter
from .config import PipelineConfig
from .driver import Request
from .files import load_seeds, state_path
from .journal import Journal, committed_records
from .jsonline import json_string, json_value, object_text
from .prompts import Prompt
from .publish import clean_stale, publish_lines
from .seeding import request_rng, sampling_seed
from . import similarity
from .similarity import SimilarityFields
from .step import Step

Candidate = tuple[str, dict[str, Any]]  # (instruction, extra record fields)
INTERNAL = "request"  # the journal's own field: the request a record came from (not published)


class AdmissionStep(Step):
    """Base of step 1 and Alpaca mode; subclasses say how to prompt and how to parse."""

    kept_key = "admitted"
    unit = "instr"
    output_file = ""
    overlaps = True

    def __init__(self, config: PipelineConfig, backend: Backend) -> None:
        super().__init__(config, backend)
        self.seeds = load_seeds(config)
        self.filter = InstructionFilter(config.filter_config())
        self.request_of = array.array("q")  # the request each admitted instruction came from (nondecreasing)
        self.stalled = 0
        self.pool: Optional[Pool] = None
        # The admitted instructions, as prompts show them: a list beside the pool, so that building a
        # prompt never waits for the pool while an admission holds it (see take()).
        self.machine: list[str] = []
        self.similarity: Optional[SimilarityFields] = None
        self._admitting: Optional[_InFlight] = None  # the last request's admission, running beside the loop
        self._settled: list[str] = []  # records of finished admissions that take() or settle() has not returned
        self._admitter: Optional[ThreadPoolExecutor] = None

    # -- what subclasses provide ---------------------------------------------------------------
    def make_prompt(self, rng: Any, machine: Sequence[str], visible: Optional[int] = None) -> Prompt:
        """The prompt of one request, which may show `machine[:visible]` (all when None): sampled
        by position, so no copy of a large pool is made per request."""
        raise NotImplementedError

    def sampling(self, seed: int) -> SamplingParams:
        raise NotImplementedError

    def candidates(self, prompt: Prompt, completion: Completion, request: int) -> list[Candidate]:
        """Parse and filter one completion (logging each drop); the survivors go to the pool."""
        raise NotImplementedError

    # -- the step hooks ------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return state_path(self.config, self.name, ".records.jsonl")

    @property
    def output_path(self) -> Path:
        return self.config.output_dir / self.output_file

    def batch_size(self) -> int:
        return self.config.prompts_per_round

    def run(self):  # type: ignore[no-untyped-def]
        self._adopt_reference_file()
        summary = super().run()
        summary.outputs = (str(self.output_path),)
        return summary

    def restore(self, journal: Journal, saved: dict[str, Any], start: int) -> None:
        config = self.config
        self.pool = Pool([task.instruction for task in self.seeds], threshold=config.similarity_threshold,
                         tokenizer=config.similarity_tokenizer)
        batch: list[str] = []
        for record in journal.records():
            batch.append(record["instruction"])
            self.machine.append(record["instruction"])
            self.request_of.append(int(record.get(INTERNAL, 0)))
            if len(batch) == 50_000:
                self.pool.add(batch)
                batch = []
        self.pool.add(batch)
        self.summary.counts[self.kept_key] = len(self.machine)
        self.stalled = saved.get("stalled", 0)
        if config.similarity_fields:
            self.similarity = SimilarityFields(self.pool, len(self.seeds), state_path(config, self.name, ".similarity.jsonl"),
                                               config.similarity_sample, config.seed, config.similarity_tokenizer)
            self.similarity.recover(len(self.machine))
            if (os.cpu_count() or 1) >= similarity.BACKGROUND_MIN_CORES:
                self.similarity.start_background()

    def progress_total(self) -> tuple[Optional[int], int]:
        target = self.config.num_instructions
        return target, min(len(self.machine), target)

    def build(self, index: int) -> Optional[Request]:
        visible = bisect.bisect_right(self.request_of, index - self.window)  # admitted before request index-W ended
        prompt = self.make_prompt(request_rng(self.config.seed, self.name, index), self.machine, visible)
        seed = sampling_seed(self.config.seed, self.name, index)
        return Request(index, prompt.render(self.chat), self.sampling(seed), prompt)

    def take(self, request: Request, completions: list[Completion]) -> list[str]:
        """Parse, filter and admit one request's candidates; returns admitted records as journal lines
        (composed from parts: the request's prompt and each response are encoded once).

        With a streaming backend the exact admission (C++, without the GIL) runs on a thread while
        the loop parses the next request: this returns the records of the previous request, and
        `settle()` the rest. Drops are logged in request order all the same (this request's are
        held until the previous admission has logged its own), and a prompt is built only after
        the admission of every request it may show (the window builds request i+W after taking
        result i+1, see `build_lag`).
        """
        assert self.pool is not None
        with self.log.held() as held:
            texts: list[str] = []
            found: list[tuple[dict[str, Any], int]] = []  # (extra fields, which completion)
            for number, completion in enumerate(completions):
                for instruction, extra in self.candidates(request.context, completion, request.index):
                    texts.append(instruction)
                    found.append((extra, number))
        self._finish_admission()
        self.log.release(held)
        self.log.batch.candidates += len(found) + held.count
        admitting = _InFlight(request, completions, texts, found, self.config.num_instructions - len(self.machine))
        if self.build_lag:
            if self._admitter is None:
                self._admitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admission")
            admitting.decisions = self._admitter.submit(self.pool.admit, texts)
        else:
            admitting.decisions = _done(self.pool.admit(texts))
        self._admitting = admitting
        if not self.build_lag:
            self._finish_admission()
        records, self._settled = self._settled, []
        return records

    def settle(self) -> list[str]:
        self._finish_admission()
        records, self._settled = self._settled, []
        return records

    def _finish_admission(self) -> None:
        """Wait for the admission in flight (if any), then log its rejects and make its records."""
        admitting, self._admitting = self._admitting, None
        if admitting is None:
            return
        assert self.pool is not None
        decisions = admitting.decisions.result()
        request, completions, texts, found = admitting.request, admitting.completions, admitting.texts, admitting.found
        admitted_at, best_index, best_score = (decisions.index.tolist(), decisions.best_index.tolist(),
                                               decisions.best_score.tolist())
        metadata: dict[int, str] = {}
        tail = f', "request_idx": {request.index // self.window}, "{INTERNAL}": {request.index}}}\n'
        records: list[str] = []
        for position, (instruction, (extra, number)) in enumerate(zip(texts, found)):
            at = admitted_at[position]
            if at < 0:
                self.log.reject("too_similar", instruction, request.index, self.pool[best_index[position]],
                                best_score[position])
                continue
            if len(records) >= admitting.room:  # the target is reached within this request: keep the first ones only
                if len(self.pool) > at:
                    self.pool.truncate(at)
                self.log.reject("surplus", instruction, request.index)
                continue
            if number not in metadata:
                completion = completions[number]
                metadata[number] = object_text((("prompt", json_string(request.prompt)),
                                                ("response", json_string(completion.text)),
                                                ("finish_reason", json_value(completion.finish_reason))))
            fields = "".join(", " + json_string(key) + ": " + json_value(value) for key, value in extra.items())
            # the record {"instruction", **extra, "metadata", "request_idx", INTERNAL} as dump_line writes it
            records.append('{"instruction": ' + json_string(instruction) + fields + ', "metadata": ' + metadata[number]
                           + tail)
            self.machine.append(instruction)
            self.request_of.append(request.index)
        if self.similarity is not None:
            self.similarity.add(len(records))
        self.summary.counts[self.kept_key] = len(self.machine)
        self.log.batch.admitted += len(records)
        self.stalled = 0 if records else self.stalled + 1
        self._settled.extend(records)

    def stop_note(self) -> Optional[str]:
        config = self.config
        admitting = self._admitting
        if admitting is not None and (
            len(admitting.texts) >= admitting.room
            or (config.max_stalled_rounds and self.stalled + 1 >= config.max_stalled_rounds * self.window)
        ):
            self._finish_admission()  # it may end the step: decide now (settle() hands over its records)
        if len(self.machine) >= config.num_instructions:
            return ""
        if config.max_stalled_rounds and self.stalled >= config.max_stalled_rounds * self.window:
            return (f"stopped early: {config.max_stalled_rounds} rounds of {self.window} requests in a row admitted "
                    f"nothing (--max-stalled-rounds)")
        return None

    def save(self) -> dict[str, Any]:
        return {"stalled": self.stalled}

    def idle(self) -> bool:
        return self.similarity.work() if self.similarity is not None and not self.similarity.background else False

    def cleanup(self) -> None:
        if self._admitter is not None:
            self._admitter.shutdown(wait=True)  # an admission still running ends first (nothing is committed from it)
            self._admitter = None
        if self.similarity is not None:
            self.similarity.stop()

    def before_commit(self) -> None:
        if self.similarity is not None:
            self.similarity.flush()

    def finish(self, journal: Journal) -> None:
        """Complete the similarity fields, then write the output file (unless it is up to date)."""
        if self.similarity is not None:
            self.similarity.finish()
        marker_path = state_path(self.config, self.name, ".published.json")
        # A run killed while publishing left its temporaries; the journal's lock is ours now.
        clean_stale(self.output_path)
        clean_stale(marker_path)
        marker = {"records": journal.data_lines, "bytes": journal.data_bytes,
                  "fields": self.config.similarity_fields, "sample": self.config.similarity_sample}
        try:
            if self.output_path.exists() and json.loads(marker_path.read_text()) == marker:
                return
        except (OSError, ValueError):
            pass
        fields = self.similarity.lines() if self.similarity is not None else None
        publish_lines(self.output_path, (_published(line.decode(), next(fields) if fields else None)
                                         for _, line in journal.lines()))
        publish_lines(marker_path, [json.dumps(marker) + "\n"])

    def _adopt_reference_file(self) -> None:
        """An output file found without our journal (e.g. from the reference code) becomes the journal."""
        if state_path(self.config, self.name).exists() or self.data_path.exists() or not self.output_path.exists():
            return
        window = self.window
        lines = []
        for record in committed_records(self.output_path, state_path(self.config, self.name)):
            record = {key: value for key, value in record.items() if key not in ("most_similar", "avg_similarity_score")}
            record[INTERNAL] = int(record.get("request_idx", 0)) * window
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        self.data_path.parent.mkdir(parents=True, exist_ok=True)
        publish_lines(self.data_path, lines)

    def adopt(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        last = max((int(r.get(INTERNAL, -1)) for r in records), default=-1)
        start = (last // self.window + 1) * self.window if records else 0
        return {"next_request": start, "counts": {}, "step": {"stalled": 0}}


class _InFlight:
    """One request's candidates on their way through the pool."""

    def __init__(self, request: Request, completions: list[Completion], texts: list[str],
                 found: list[tuple[dict[str, Any], int]], room: int) -> None:
        self.request, self.completions, self.texts, self.found, self.room = request, completions, texts, found, room
        self.decisions: Any = None  # a Future of the pool's AdmitResult


def _done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


INTERNAL_SUFFIX = f', "{INTERNAL}": '
METADATA_KEY = ', "metadata": '


def _published(line: str, fields: Optional[str]) -> str:
    """The reference line from a journal line: without the internal request field (always the last
    key), and with the similarity fields (a JSON object's text) before `metadata`. Spliced as text:
    inside a JSON string every quote is escaped, so the first `, "metadata": ` is the top-level key."""
    line = line[: line.rindex(INTERNAL_SUFFIX)] + "}\n"
    if fields:
        at = line.index(METADATA_KEY)
        line = line[:at] + ", " + fields.strip()[1:-1] + line[at:]
    return line
