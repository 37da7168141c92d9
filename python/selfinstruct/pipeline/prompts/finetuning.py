"""Fine-tuning encodings: prompt/completion templates (our wording) and input clean-up.

Varying the template keeps a fine-tuned model from depending on one format; stripping a lone
"Field:" prefix from half of the inputs does the same for the inputs' labels.
"""
from __future__ import annotations

import random
import re

TEMPLATES_WITH_INPUT: tuple[tuple[str, str], ...] = (
    ("{instruction}\nInput: {input}\nResponse:", " {output}"),
    ("{instruction}\n\nInput:\n{input}\n\nResponse:", " {output}"),
    ("Instruction: {instruction}\nInput: {input}\nAnswer:", " {output}"),
    ("{instruction}\n\n{input}\n\nAnswer:", " {output}"),
    ("{instruction}\n\n{input}\n\n", "{output}"),
    ("{input}\n\n{instruction}\n\n", "{output}"),
    ("Instruction: {instruction}\n\n{input}\n\n", "{output}"),
)
TEMPLATES_WITHOUT_INPUT: tuple[tuple[str, str], ...] = (
    ("{instruction} Answer:", " {output}"),
    ("{instruction}\nResponse:", " {output}"),
    ("Instruction: {instruction}\n\nAnswer:", " {output}"),
    ("{instruction}\n", "{output}"),
    ("{instruction}\n\n", "{output}"),
    ("Instruction: {instruction}\n\n", "{output}"),
)
_FIELD = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z0-9 _-]{0,30}?)[ \t]*:")


def strip_field_prefix(text: str) -> str:
    """Remove the "Field:" label of an input that has exactly one kind of label and starts with it,
    and collapse blank lines ("Sentence: I ran." -> "I ran.")."""
    names = {name.strip() for name in _FIELD.findall(text)}
    stripped = text.strip()
    if len(names) == 1:
        match = _FIELD.match(stripped)
        if match:
            stripped = stripped[match.end():].strip()
    return re.sub(r"\n[ \t]*\n+", "\n", stripped)


def encode(instruction: str, inp: str, output: str, rng: random.Random, strip_prefix_prob: float,
           suffix: str) -> dict[str, str]:
    """One {"prompt", "completion"} pair with a template drawn from `rng` (two draws per call)."""
    strip = rng.random() < strip_prefix_prob
    instruction, inp, output = instruction.strip(), inp.strip(), output.strip()
    if inp:
        if strip:
            inp = strip_field_prefix(inp)
        prompt, completion = rng.choice(TEMPLATES_WITH_INPUT)
    else:
        prompt, completion = rng.choice(TEMPLATES_WITHOUT_INPUT)
    return {
        "prompt": prompt.format(instruction=instruction, input=inp),
        "completion": completion.format(output=output) + suffix,
    }
