"""Parsers for model completions, robust to what real (and small) models emit.

Each parser takes the completion text (what follows the prompt's cue) and returns every item it
can find; what to do with a response cut by the token limit is the caller's policy (see
`apply_truncation`). Handled slips: numbering that restarts, skips or repeats, ")" or ":" instead
of ".", bullets, markdown bold, a repeated cue at the start, "Example" or "Class label" markers
with odd spacing or case, missing "###" separators, a stray "Task:" the stop string missed.
"""
from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T")

# A new list item: "10. ", "10) ", "10: ", "(10) ", "10 . ", or a bullet, at the start of a line.
_ITEM_MARKER = re.compile(r"^[ \t]*(?:\(?\d{1,3}[ \t]*[.):]|[-*\u2022])(?:[ \t]+|$)")
# A label some models put before an item: "Task:", "Task 9:", "Instruction:", "New task:".
_ITEM_LABEL = re.compile(r"^(?:new[ \t]+)?(?:task|instruction)[ \t]*\d*[ \t]*[:.-][ \t]*", re.IGNORECASE)
# What _ITEM_LABEL can start with in ASCII ("New", "Task", "Instruction" in any case); non-ASCII
# letters can match too under IGNORECASE (dotted and dotless i), so for them the regex decides.
_LABEL_STARTS = frozenset("nNtTiI")
_EXAMPLE_MARKER = re.compile(r"(?m)^[ \t]*#*[ \t]*Example(?:[ \t]*\d+[ \t]*[.:)]?|[ \t]*:|[ \t]*$)[ \t]*", re.IGNORECASE)
_OUTPUT_MARKER = re.compile(r"Output[ \t]*\d*[ \t]*:", re.IGNORECASE)
_INPUT_MARKER = re.compile(r"Input[ \t]*\d*[ \t]*:", re.IGNORECASE)
_CLASS_LABEL = re.compile(r"Class[ \t]*label[ \t]*:", re.IGNORECASE)
_STRAY_TASK = re.compile(r"(?m)^[ \t]*Task[ \t]*:")
_ALPACA_FIELD = re.compile(r"(?im)^[ \t]*(?:\d{1,3}[ \t]*[.):][ \t]*)?(instruction|input|output)[ \t]*:[ \t]*")
_SEPARATOR_LINE = re.compile(r"(?m)^[ \t]*#{3,}[ \t]*$")
_OTHER_FIELD = re.compile(r"(?m)^[ \t]*\d{1,3}[ \t]*[.)][ \t]*[A-Za-z][A-Za-z ]{0,20}:")


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace become one space; ends stripped (the reference's normalisation).

    The same as `re.sub(r"\\s+", " ", text).strip()` (for str patterns `\\s` is exactly
    `str.isspace`, which `split()` splits on), a few times faster.
    """
    return " ".join(text.split())


_BOLD = (
    (re.compile(r"(?m)^([ \t]*(?:\(?\d{1,3}[ \t]*[.):][ \t]*|[-*\u2022][ \t]+)?)\*\*"), r"\1"),  # opening a line
    (re.compile(r"(?m)\*\*([ \t]*)$"), r"\1"),  # closing a line
    (re.compile(r"\*\*[ \t]*:|:[ \t]*\*\*"), ":"),  # around a label's colon: "**Output:**", "**Output**:"
)


def _unbold(text: str) -> str:
    """Remove markdown bold around labels and whole lines, never inside content ("n ** 0.5" stays)."""
    if "**" not in text:  # every pattern needs one (most completions have none)
        return text
    for pattern, replacement in _BOLD:
        text = pattern.sub(replacement, text)
    return text


def apply_truncation(items: list[T], finish_reason: str, discard_whole: bool) -> tuple[list[T], int]:
    """Apply the length-cut policy: discard every item, or only the last (likely incomplete) one.

    Returns (kept items, number dropped). A response that ended on a stop string keeps everything.
    """
    if finish_reason != "length" or not items:
        return items, 0
    if discard_whole:
        return [], len(items)
    return items[:-1], 1


def parse_instruction_list(text: str, capitalize: bool = False) -> list[str]:
    """Split a numbered-list completion into instructions (the first item has no number: the cue had it).

    A line starting with a number or bullet starts a new item; other lines continue the current
    one. Whitespace is collapsed; `capitalize` applies str.capitalize() as the original code did.
    """
    items: list[list[str]] = [[]]
    for line in _unbold(text).split("\n"):
        marker = _ITEM_MARKER.match(line)
        if marker:
            items.append([line[marker.end():]])
        else:
            items[-1].append(line)
    out = []
    for parts in items:
        item = collapse_whitespace(" ".join(parts))
        if item[:1] in _LABEL_STARTS or not item[:1].isascii():  # the label regex runs only where it can match
            item = _ITEM_LABEL.sub("", item, count=1).strip()
        if capitalize:
            item = item.capitalize()
        if item:
            out.append(item)
    return out


def parse_clf_answer(text: str) -> bool:
    """True iff the answer starts with "yes" (any case, trailing punctuation allowed)."""
    return re.match(r"\s*yes\b", _unbold(text), re.IGNORECASE) is not None


def _cut_stray_task(text: str) -> str:
    match = _STRAY_TASK.search(text)
    return text[: match.start()] if match else text


def parse_input_output(block: str) -> tuple[str, str]:
    """One example: (input, output). Without an "Output:" marker the whole block is the output."""
    parts = _OUTPUT_MARKER.split(block, maxsplit=1)
    if len(parts) == 2:
        inp, out = parts
    else:
        inp, out = "", block
    out = _INPUT_MARKER.split(out, maxsplit=1)[0]  # a second example run into the first
    inp = re.sub(r"^\s*Input[ \t]*\d*[ \t]*:", "", inp, flags=re.IGNORECASE)
    return inp.strip(), out.strip()


def parse_input_first(text: str) -> list[tuple[str, str]]:
    """Instances of a non-classification task: "Example N" blocks, else one "Output:" pair, else none."""
    text = _cut_stray_task(_unbold(text)).strip()
    if _EXAMPLE_MARKER.search(text):
        blocks = [block.strip() for block in _EXAMPLE_MARKER.split(text)]
        return [parse_input_output(block) for block in blocks if block]
    if _OUTPUT_MARKER.search(text):
        return [parse_input_output(text)]
    return []


def parse_output_first(text: str) -> list[tuple[str, str]]:
    """Instances of a classification task: each "Class label:" gives (input, label).

    The label is the rest of the marker's line, the input the lines after it.
    """
    text = _cut_stray_task(_unbold(text))
    chunks = _CLASS_LABEL.split(text)
    if len(chunks) < 2:
        return []
    out = []
    for chunk in chunks[1:]:
        label, _, inp = chunk.strip().partition("\n")
        out.append((inp.strip(), label.strip()))
    return out


def parse_alpaca_tasks(text: str, cue: str = "") -> list[tuple[str, str, str]]:
    """(instruction, input, output) triples from an Alpaca-mode completion.

    Every "Instruction:" marker (numbered or not) starts a task; "Input:" and "Output:" fill it
    until the next one, so missing "###" lines do no harm. "<noinput>" means an empty input; a
    task with no "Output:" comes back with an empty output for the filters to count.
    """
    text = _SEPARATOR_LINE.sub("", _unbold(cue.lstrip("#").lstrip() + text))
    markers = list(_ALPACA_FIELD.finditer(text))
    tasks: list[dict[str, str]] = []
    for position, marker in enumerate(markers):
        end = markers[position + 1].start() if position + 1 < len(markers) else len(text)
        name = marker.group(1).lower()
        value = text[marker.end():end].strip().strip("#").strip()
        if name == "instruction":
            value = _OTHER_FIELD.split(value, maxsplit=1)[0]  # "4. C: ..." slips end an instruction
            tasks.append({"instruction": collapse_whitespace(value)})
        elif tasks and name not in tasks[-1]:
            tasks[-1][name] = value
    triples = []
    for task in tasks:
        inp = task.get("input", "")
        if inp.strip().lower() in ("<noinput>", "<no input>", "noinput", "none", "n/a"):
            inp = ""
        triples.append((task["instruction"], inp, task.get("output", "")))
    return triples


def strip_cue_echo(text: str, cue: str) -> str:
    """Drop a completion's repetition of the cue ("9. 9. Write...", common with chat templates)."""
    stripped_cue = cue.strip()
    body = text.lstrip()
    if stripped_cue and body.startswith(stripped_cue):
        return body[len(stripped_cue):]
    return text


def parse_instances(text: str, classification: bool) -> list[tuple[str, str]]:
    """The (input, output) instances of one task's completion: output-first for classification tasks."""
    return parse_output_first(text) if classification else parse_input_first(text)
