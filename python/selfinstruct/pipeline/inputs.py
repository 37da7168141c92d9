"""The inputs of steps 2 and 3, streamed in step 1's order (never a whole file in memory)."""
from __future__ import annotations

from typing import Any, Iterator, Optional

from .config import PipelineConfig
from .files import CLF_FILE, INSTRUCTIONS_FILE, state_path
from .journal import Journal, committed_records
from .parsing import parse_clf_answer
from .step import Step


def instructions(config: PipelineConfig) -> Iterator[dict[str, Any]]:
    """Step 1's records (its output file is written whole, so it is read whole)."""
    path = config.output_dir / INSTRUCTIONS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `selfinstruct generate-instructions` first")
    return committed_records(path, state_path(config, "instructions", ".no-journal"))


def classified_instructions(config: PipelineConfig) -> Iterator[tuple[dict[str, Any], bool]]:
    """(step 1 record, is classification) for each instruction step 2 has answered, in order."""
    answers = committed_records(config.output_dir / CLF_FILE, state_path(config, "classification"))
    for position, (record, answer) in enumerate(zip(instructions(config), answers), start=1):
        if answer.get("instruction") != record["instruction"]:
            raise RuntimeError(f"{CLF_FILE} line {position} does not match instruction {position} of "
                               f"{INSTRUCTIONS_FILE}: rerun `selfinstruct identify-clf` after deleting it and "
                               f"state/classification.jsonl")
        yield record, parse_clf_answer(str(answer.get("is_classification", "")))


def check_prefix(done: Iterator[dict[str, Any]], inputs: Iterator[Any], data_file: str, key: Any) -> None:
    """A resumed step continues the same input: its records match the first inputs, in order
    (consumes those inputs from `inputs`)."""
    for position, record in enumerate(done, start=1):
        source = next(inputs, None)
        if source is None or record.get("instruction") != key(source):
            raise RuntimeError(
                f"{data_file} line {position} does not match instruction {position} of {INSTRUCTIONS_FILE}: "
                f"its input changed; delete it and its state file to redo this step"
            )


def count_lines(path: Any) -> int:
    """Newline-terminated lines of a file (0 when it is missing), read in blocks."""
    count = 0
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                count += block.count(b"\n")
    except FileNotFoundError:
        return 0
    return count


class PerInstructionStep(Step):
    """A step with one request per input instruction, in step 1's order (steps 2 and 3): request i
    is input i, and a rerun continues after the inputs already answered."""

    input_file = ""  # the file whose lines are this step's inputs (for the progress total)

    def inputs(self) -> Iterator[Any]:
        raise NotImplementedError

    @staticmethod
    def instruction_of(item: Any) -> str:
        raise NotImplementedError

    def restore(self, journal: Journal, saved: dict[str, Any], start: int) -> None:
        self.pending_inputs = self.inputs()
        check_prefix(journal.records(), self.pending_inputs, self.data_path.name, key=self.instruction_of)
        self.total = count_lines(self.config.output_dir / self.input_file)
        self.done = start

    def next_input(self) -> Optional[Any]:
        return next(self.pending_inputs, None)

    def progress_total(self) -> tuple[Optional[int], int]:
        return self.total, self.done
