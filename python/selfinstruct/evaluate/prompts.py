"""Prediction prompts: an instance's instruction (a SuperNI task's definition), k positive examples
and its input, in one of four styles.

- completion: "{instruction}\\n\\nInput: {input}\\nOutput:", examples as earlier Input/Output
  pairs (the format of the GPT-3 prompts in Self-Instruct's user-oriented evaluation);
- superni: "Definition: ...", "Positive Example n -" blocks, "Now complete the following example -";
- alpaca: the Stanford Alpaca training template ("### Instruction:" / "### Input:" / "### Response:"),
  for models fine-tuned on alpaca.json with it;
- chat: the backend's chat template; the user turn is the instruction, a blank line and the input
  (as in chat.jsonl), examples are earlier user/assistant turns.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from .items import EvalItem

PROMPT_STYLES = ("completion", "superni", "alpaca", "chat")
# Where a base model starts a new example instead of ending its answer.
DEFAULT_STOPS: dict[str, tuple[str, ...]] = {
    "completion": ("\nInput:",),
    "superni": ("\nInput:", "Now complete the following example"),
    "alpaca": ("\n### ",),
    "chat": (),
}
ChatTemplate = Callable[[Sequence[dict[str, str]]], str]

_ALPACA_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further "
                      "context. Write a response that appropriately completes the request.\n\n"
                      "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
_ALPACA_WITHOUT_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately "
                         "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")


def _pair(inp: str, output: Optional[str]) -> str:
    head = f"Input: {inp.strip()}\n" if inp.strip() else ""
    return head + ("Output:" if output is None else f"Output: {output.strip()}")


def user_turn(instruction: str, inp: str) -> str:
    """The chat user message: instruction, blank line, input (just the instruction without input)."""
    return f"{instruction.strip()}\n\n{inp.strip()}" if inp.strip() else instruction.strip()


def build_prompt(item: EvalItem, style: str, num_pos_examples: int = 0, chat: Optional[ChatTemplate] = None) -> str:
    """The prompt text for `item` with its first `num_pos_examples` examples (fewer if it has fewer)."""
    examples = item.examples[:num_pos_examples]
    instruction = item.instruction.strip()
    if style == "completion":
        blocks = [instruction, *(_pair(x, y) for x, y in examples), _pair(item.input, None)]
        return "\n\n".join(blocks)
    if style == "superni":
        blocks = [f"Definition: {instruction}"]
        blocks += [f"Positive Example {n} -\n{_pair(x, y)}" for n, (x, y) in enumerate(examples, start=1)]
        blocks.append(f"Now complete the following example -\n{_pair(item.input, None)}")
        return "\n\n".join(blocks)
    if style == "alpaca":
        if examples:
            instruction += "".join(f"\n\nExample {n}:\n{_pair(x, y)}" for n, (x, y) in enumerate(examples, start=1))
        if item.input.strip():
            return _ALPACA_WITH_INPUT.format(instruction=instruction, input=item.input.strip())
        return _ALPACA_WITHOUT_INPUT.format(instruction=instruction)
    if style == "chat":
        if chat is None:
            raise ValueError("the chat style needs the backend's chat template")
        messages = []
        for x, y in examples:
            messages += [{"role": "user", "content": user_turn(instruction, x)},
                         {"role": "assistant", "content": y.strip()}]
        messages.append({"role": "user", "content": user_turn(instruction, item.input)})
        return chat(messages)
    raise ValueError(f"unknown prompt style {style!r}: use one of {', '.join(PROMPT_STYLES)}")


def backend_chat_template(backend: Any) -> ChatTemplate:
    """The backend's `apply_chat_template`, tried once so a backend without a working one fails
    before any work (ValueError with the other styles as the fix)."""
    apply = getattr(backend, "apply_chat_template", None)
    try:
        if apply is None:
            raise AttributeError("no apply_chat_template")
        apply([{"role": "user", "content": "Hello."}])
    except Exception as error:
        name = getattr(backend, "name", type(backend).__name__)
        raise ValueError(f"backend {name!r} cannot apply a chat template ({error}); "
                         "use --prompt-style completion, superni or alpaca") from None
    return apply
