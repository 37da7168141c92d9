"""Every random choice of the pipeline, derived from the run seed and a position.

There is one `derive_seed` in the package (the backends use it too, to spread a batch's seed over
its prompts). A request's prompt RNG and sampling seed depend only on (run seed, step, request
index), so a resumed run rebuilds exactly the requests an uninterrupted one made.
"""
from __future__ import annotations

import random
from typing import Union

from ..backends.base import derive_seed

__all__ = ["derive_seed", "request_rng", "sampling_seed"]

Part = Union[int, str]


def request_rng(seed: int, step: str, index: int) -> random.Random:
    """The RNG that builds request `index` of a step (which pool entries its prompt shows)."""
    return random.Random(derive_seed(seed, step, "rng", index))


def sampling_seed(seed: int, step: str, index: int) -> int:
    """The sampling seed sent with request `index` (in `SamplingParams.seed`, whatever the engine:
    a batch-only backend seeds each prompt of a batch with its own via `generate_with_seeds`)."""
    return derive_seed(seed, step, "sample", index)
