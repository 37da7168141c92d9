"""Prompt builders for every step (our wording, the paper's structure).

A prompt is a `Prompt(body, cue)`: the completion-style text is body + cue; in chat style the body
becomes the user message and the cue starts the assistant's reply, so the model continues from the
same place either way (the cue is "9." for an instruction list, "Is it classification?" for step 2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from .examples import CLF_EXAMPLES, INPUT_FIRST_DEMOS, OUTPUT_FIRST_DEMOS

INSTRUCTION_HEADER = "Write a list of new and varied tasks that people might ask an assistant to do:"
CLF_HEADER = (
    "For each task, say whether it is a classification task, that is, a task whose answer is picked "
    "from a small, fixed set of labels."
)
CLF_QUESTION = "Is it classification?"
INPUT_FIRST_HEADER = (
    "Write examples for each task below. When the task takes an input, give several examples, each with "
    "its input fields and its output. When it needs no input, write the output directly."
)
OUTPUT_FIRST_HEADER = (
    "Each task below is a classification task. List its possible class labels and, after each label, "
    "write an input that belongs to that label. When the task needs no input, give just the label."
)
ALPACA_HEADER = (
    "Write {count} varied tasks for an AI assistant. Each task has an instruction, an optional input and "
    "a good output.\n\n"
    "Guidelines:\n"
    "1. Use a different verb for each instruction, and mix questions with commands.\n"
    "2. Cover many kinds of tasks: open questions, writing, rewriting, classification, reasoning, math, "
    "advice, brainstorming, editing and more.\n"
    "3. The assistant only reads and writes text: do not ask it to look at pictures, play sounds, browse "
    "the web or act in the world.\n"
    "4. Write each instruction in English, in one or two sentences.\n"
    "5. Give an input only when the task needs one (a passage, a list, a question to answer); otherwise "
    "write <noinput>. An input is real content, never a placeholder.\n"
    "6. Each output really completes the task, in under 100 words.\n\n"
    "Tasks:"
)
NO_INPUT = "<noinput>"

ChatFormatter = Callable[[str], str]


@dataclass(frozen=True)
class Prompt:
    """What the model reads (`body`) and the start of its answer (`cue`)."""

    body: str
    cue: str = ""

    @property
    def text(self) -> str:
        """The completion-style prompt."""
        return self.body + self.cue

    def render(self, chat: Optional[ChatFormatter] = None) -> str:
        """The string sent to the backend: plain text, or the body wrapped by a chat template."""
        if chat is None:
            return self.text
        return chat(self.body.rstrip()) + self.cue.lstrip()


def clean_instruction(text: str) -> str:
    """One line, no trailing colon: how pool instructions are shown in prompts (as the reference).

    `" ".join(text.split())` is `re.sub(r"\\s+", " ", text).strip()` (`\\s` is `str.isspace`), faster.
    """
    return " ".join(text.split()).rstrip(":")


def instruction_prompt(instructions: Sequence[str]) -> Prompt:
    """Header, the instructions as a numbered list, and the next number as the cue."""
    return cleaned_instruction_prompt([clean_instruction(text) for text in instructions])


def cleaned_instruction_prompt(cleaned: Sequence[str]) -> Prompt:
    """`instruction_prompt` of instructions already passed through `clean_instruction` (step 1
    cleans each seed once, not once per prompt)."""
    lines = [f"{index}. {text}" for index, text in enumerate(cleaned, start=1)]
    return Prompt(INSTRUCTION_HEADER + "\n\n" + "\n".join(lines) + "\n", f"{len(lines) + 1}.")


def clf_prompt(instruction: str, num_examples: Optional[int] = None) -> Prompt:
    """Few-shot yes/no prompt; `num_examples` keeps the first N examples (both answers appear early)."""
    examples = CLF_EXAMPLES if num_examples is None else CLF_EXAMPLES[:num_examples]
    shots = "".join(f"Task: {task}\n{CLF_QUESTION} {'Yes' if yes else 'No'}\n\n" for task, yes in examples)
    return Prompt(f"{CLF_HEADER}\n\n{shots}Task: {clean_instruction(instruction)}\n", CLF_QUESTION)


def instance_prompt(instruction: str, classification: bool, num_demonstrations: Optional[int] = None) -> Prompt:
    """Input-first prompt, or output-first for a classification task."""
    header, demos = (OUTPUT_FIRST_HEADER, OUTPUT_FIRST_DEMOS) if classification else (INPUT_FIRST_HEADER, INPUT_FIRST_DEMOS)
    if num_demonstrations is not None:
        demos = demos[:num_demonstrations]
    shots = "".join(f"Task: {task}\n{body}\n\n" for task, body in demos)
    return Prompt(f"{header}\n\n{shots}Task: {instruction.strip()}\n")


def alpaca_prompt(demonstrations: Sequence[tuple[str, str, str]], tasks_per_prompt: int) -> Prompt:
    """Guidelines, then numbered (instruction, input, output) demonstrations between "###" lines.

    The cue opens the next task ("###\\n4. Instruction:"); an empty input is shown as <noinput>.
    """
    blocks = []
    for index, (instruction, inp, out) in enumerate(demonstrations, start=1):
        shown_input = inp.strip() or NO_INPUT
        blocks.append(
            f"###\n{index}. Instruction: {clean_instruction(instruction)}\n{index}. Input:\n{shown_input}\n"
            f"{index}. Output:\n{out.strip()}\n"
        )
    header = ALPACA_HEADER.format(count=tasks_per_prompt)
    return Prompt(header + "\n" + "".join(blocks), f"###\n{len(blocks) + 1}. Instruction:")


def chat_formatter(backend: Any, style: str) -> Optional[ChatFormatter]:
    """None for completion prompts; for chat, a function wrapping a user message in the model's chat
    template (from `backend.apply_chat_template(messages)`)."""
    if style == "completion":
        return None
    apply = getattr(backend, "apply_chat_template", None)
    name = getattr(backend, "name", type(backend).__name__)
    if apply is None:
        raise ValueError(f"backend {name!r} cannot apply a chat template: use --prompt-style completion")
    try:  # fail here, before the step does any work, rather than at its first prompt
        apply([{"role": "user", "content": "Hello."}])
    except Exception as error:
        raise ValueError(f"backend {name!r} cannot apply a chat template ({error}); use --prompt-style completion") from None

    def wrap(user: str) -> str:
        return apply([{"role": "user", "content": user}])

    return wrap
