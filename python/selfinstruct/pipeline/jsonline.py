"""JSON lines composed from parts, byte for byte what `records.dump_line` (json.dumps with
ensure_ascii=False) writes for the same record.

Step 1 writes a journal line per admitted instruction and a rejects line per dropped candidate,
up to millions of them: composing them from pre-encoded pieces (a request's prompt and response
are encoded once, not once per instruction) saves the encoder's per-call setup and repeated work.
The pieces follow json.dumps's defaults: ", " between items, ": " after keys, strings through the
same encoder function, ints and finite floats as their repr.
"""
from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as json_string  # json.dumps's (C) string encoder for ensure_ascii=False
from typing import Any, Iterable

__all__ = ["json_string", "json_value", "object_text"]

_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(value, ensure_ascii=False) uses


def json_value(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, the common scalar cases without the encoder's setup."""
    kind = type(value)
    if kind is str:
        return json_string(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return _ENCODER.encode(value)  # bool, NaN, containers, and anything else (which raises as json.dumps does)


def object_text(items: Iterable[tuple[str, str]]) -> str:
    """A JSON object from (key, value already encoded as JSON text) pairs; keys must be str."""
    return "{" + ", ".join(json_string(key) + ": " + value for key, value in items) + "}"
