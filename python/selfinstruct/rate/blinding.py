"""The blinded view of the responses: each is known to the browser only by an opaque key."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional, Sequence

from .predictions import Response
from .raters import rater_order


class RatingSet:
    """The responses to rate, each under a key that says nothing about its model.

    Keys are an HMAC of (model, item) under a secret salt, so a rater cannot tell two models' responses
    apart by their keys, nor recompute a key from a model name. A new salt (the default: random per
    server) gives new keys; the ratings store records items and models, never keys.
    """

    def __init__(self, responses: Sequence[Response], salt: Optional[bytes] = None) -> None:
        if not responses:
            raise ValueError("nothing to rate: no responses")
        self._salt = salt if salt is not None else secrets.token_bytes(16)
        self._by_key: dict[str, Response] = {}
        self._key_of: dict[tuple[str, str], str] = {}
        for response in responses:
            pair = (response.item, response.model)
            if pair in self._key_of:
                raise ValueError(f"two responses of model {response.model!r} to item {response.item!r}")
            key = self._make_key(*pair)
            self._by_key[key] = response
            self._key_of[pair] = key
        self.models: tuple[str, ...] = tuple(dict.fromkeys(response.model for response in responses))

    def _make_key(self, item: str, model: str) -> str:
        message = f"{model}\x00{item}".encode("utf-8")
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:20]

    def __len__(self) -> int:
        return len(self._by_key)

    def response(self, key: str) -> Response:
        """The response under `key`; KeyError if there is none."""
        return self._by_key[key]

    def key_of(self, item: str, model: str) -> Optional[str]:
        """The key of a model's response to an item, or None if it is not in this set."""
        return self._key_of.get((item, model))

    def order(self, rater: str) -> list[str]:
        """Every key, in the order this rater sees them (fixed per rater name)."""
        return rater_order(list(self._by_key), rater)
