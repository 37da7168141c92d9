"""Rater names, and the order in which each rater sees the responses."""
from __future__ import annotations

import hashlib
import random
import re
from typing import Sequence, TypeVar

T = TypeVar("T")

# Letters (any script), digits, and inner spaces, dots, dashes, underscores; at most 40 characters.
_RATER_NAME = re.compile(r"^\w(?:[\w .\-]{0,38}[\w.\-])?$")


def check_rater_name(name: object) -> str:
    """Return `name` if it is a valid rater name, else raise ValueError saying what is allowed."""
    if not isinstance(name, str) or not _RATER_NAME.match(name):
        raise ValueError(f"bad rater name {name!r}: use 1-40 letters, digits, spaces, '.', '-' or '_', "
                         "starting with a letter or digit")
    return name


def rater_order(items: Sequence[T], rater: str) -> list[T]:
    """`items` shuffled for one rater: the same order for the same name every time (the seed is a hash of
    the name), a different order for each rater."""
    seed = int.from_bytes(hashlib.sha256(check_rater_name(rater).encode("utf-8")).digest()[:8], "big")
    order = list(items)
    random.Random(seed).shuffle(order)
    return order
