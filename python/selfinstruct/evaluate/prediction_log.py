"""The predictions file as its own journal: append-only official JSONL that survives kill -9.

Each batch is appended as whole lines in one write and fsynced. Every line stands alone
({"id", "prediction"}), so after a kill the file holds complete lines, perhaps followed by one
torn line: reopening removes the torn tail and returns the ids already written, which a rerun
skips. Nothing written is lost and no id is written twice. A sidecar `<file>.settings.json`
records what produced the predictions; resuming with different settings is refused.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

from ..records import RecordError, append_jsonl, write_atomic

LOG = logging.getLogger("selfinstruct.evaluate")


class PredictionLog:
    """Open with `with PredictionLog(path, settings) as log:`; `log.done` is {id: prediction}."""

    def __init__(self, path: str | os.PathLike[str], settings: dict[str, Any]) -> None:
        self.path = Path(path)
        self.settings_path = self.path.with_name(self.path.name + ".settings.json")
        self.settings = json.loads(json.dumps(settings))  # as it will read back
        self.done: dict[str, str] = {}
        self._lock_fd: Optional[int] = None

    def __enter__(self) -> "PredictionLog":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The lock is on the predictions file itself: it is only ever appended to or truncated in place.
        self._lock_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.__exit__()
            raise RuntimeError(f"another run is writing {self.path}: wait for it or stop it first") from None
        try:
            self._recover()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _recover(self) -> None:
        if self.path.stat().st_size == 0:
            write_atomic(self.settings_path, json.dumps(self.settings, indent=2, ensure_ascii=False) + "\n")
            return
        self.check_settings()  # before touching the file: it may be someone else's
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete != len(data):
            LOG.info("%s: removing a torn last line left by an interrupted run", self.path)
            with open(self.path, "r+b") as handle:
                handle.truncate(complete)
                os.fsync(handle.fileno())
        lines = data[:complete].split(b"\n")[:-1]
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise RecordError(self.path, number, "malformed line in a predictions file being resumed") from None
            ident = record.get("id") if isinstance(record, dict) else None
            if not isinstance(ident, str) or not isinstance(record.get("prediction"), str):
                raise RecordError(self.path, number, 'expected {"id": str, "prediction": str}')
            if ident in self.done:
                raise RecordError(self.path, number, f"duplicate id {ident!r}: the file was edited; use a new output file")
            self.done[ident] = record["prediction"]

    def check_settings(self) -> None:
        """Raise ValueError unless the file is empty or absent, or was written with these settings."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            saved = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{self.path} exists but was not written by `selfinstruct predict` (no "
                             f"{self.settings_path.name}): choose another output file") from None
        except json.JSONDecodeError:
            raise ValueError(f"{self.settings_path} is not valid JSON: remove it and {self.path} to start over") from None
        changed = sorted(key for key in set(saved) | set(self.settings) if saved.get(key) != self.settings.get(key))
        if changed:
            detail = "; ".join(f"{key}: {saved.get(key)!r} -> {self.settings.get(key)!r}" for key in changed)
            raise ValueError(f"{self.path} was written with other settings ({detail}): rerun with the same "
                             "settings to resume, or choose another output file")

    def append(self, predictions: dict[str, str]) -> None:
        """Append {id: prediction} as lines, durably (fsync), in one write."""
        clash = [ident for ident in predictions if ident in self.done]
        if clash:
            raise ValueError(f"{self.path}: {clash[0]!r} is already written")
        if not predictions:
            return
        append_jsonl(self.path, [{"id": ident, "prediction": text} for ident, text in predictions.items()])
        self.done.update(predictions)
