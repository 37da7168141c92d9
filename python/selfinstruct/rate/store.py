"""The ratings file: one JSON line per rating given, appended and fsynced before it is acknowledged.

A line is {"rater", "item", "model", "rating", "time"}. Re-rating appends a new line; the last line for
a (rater, item, model) is the one that counts. Reading the file back replays every rating, so a
restarted server, a reloaded page or a new session resumes exactly where the rater stopped. A last line
cut short by a crash mid-write is tolerated (it was never acknowledged); any other bad line is an
error naming the file and line.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from ..atomic_files import fsync_directory
from ..records import RecordError, dump_line
from .levels import LETTERS
from .raters import check_rater_name

logger = logging.getLogger("selfinstruct.rate")


@dataclass(frozen=True)
class Rating:
    """One rating as given: who, which model's response to which item, the level, and when (UTC)."""

    rater: str
    item: str
    model: str
    rating: str
    time: str


def check_rating(value: object) -> str:
    """Return `value` if it is one of the letters A-D, else raise ValueError."""
    if not isinstance(value, str) or value not in LETTERS:
        raise ValueError(f"bad rating {value!r}: use one of {', '.join(LETTERS)}")
    return value


def _parse_line(path: Path, number: int, line: bytes) -> Rating:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordError(path, number, f"malformed rating line ({error})") from None
    if not isinstance(record, dict):
        raise RecordError(path, number, "expected a JSON object")
    fields: dict[str, Any] = {}
    for field in ("rater", "item", "model", "rating", "time"):
        value = record.get(field)
        if not isinstance(value, str):
            raise RecordError(path, number, f"field {field!r} missing or not a string")
        fields[field] = value
    try:
        check_rater_name(fields["rater"])
        check_rating(fields["rating"])
    except ValueError as error:
        raise RecordError(path, number, str(error)) from None
    return Rating(**fields)


def _split_torn_tail(data: bytes) -> tuple[bytes, bytes]:
    """(the complete lines, an unterminated last line or b"")."""
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _parse_lines(path: Path, data: bytes) -> Iterator[Rating]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield _parse_line(path, number, line)


def read_ratings(path: str | os.PathLike[str]) -> list[Rating]:
    """Every rating in a ratings file, in the order given, without changing the file.

    An unterminated last line that does not parse (a write cut short) is skipped with a warning.
    """
    path = Path(path)
    complete, tail = _split_torn_tail(path.read_bytes())
    ratings = list(_parse_lines(path, complete))
    if tail.strip():
        try:
            ratings.append(_parse_line(path, complete.count(b"\n") + 1, tail))
        except RecordError:
            logger.warning("%s: ignoring an incomplete last line (%d bytes) left by an interrupted write",
                           path, len(tail))
    return ratings


def latest_ratings(ratings: list[Rating]) -> dict[tuple[str, str, str], str]:
    """The rating that counts for each (rater, item, model): the last one given."""
    return {(rating.rater, rating.item, rating.model): rating.rating for rating in ratings}


class RatingStore:
    """The ratings file of a running rating server: replayed on opening, appended on every rating.

    One store holds the file locked, so two servers cannot interleave ratings in one file. An incomplete
    last line is removed on opening (kept if it is a whole rating missing only its newline).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"{self.path} is in use by another rating server") from None
            self._ratings = self._replay()
            if created:  # make the new file's directory entry durable too
                fsync_directory(self.path.parent)
        except BaseException:
            os.close(self._fd)
            raise
        self._latest = latest_ratings(self._ratings)

    def _replay(self) -> list[Rating]:
        data = Path(self.path).read_bytes()
        complete, tail = _split_torn_tail(data)
        ratings = list(_parse_lines(self.path, complete))
        if tail.strip():
            try:
                ratings.append(_parse_line(self.path, complete.count(b"\n") + 1, tail))
                os.write(self._fd, b"\n")
            except RecordError:
                logger.warning("%s: removing an incomplete last line (%d bytes) left by an interrupted write",
                               self.path, len(tail))
                os.ftruncate(self._fd, len(complete))
        elif tail:
            os.ftruncate(self._fd, len(complete))
        os.fsync(self._fd)
        return ratings

    def add(self, rater: str, item: str, model: str, rating: str) -> Rating:
        """Append one rating and fsync it; when this returns, the rating survives a crash."""
        given = Rating(check_rater_name(rater), item, model, check_rating(rating),
                       datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
        line = dump_line(asdict(given)).encode("utf-8")
        with self._lock:
            if self._fd < 0:
                raise RuntimeError(f"{self.path}: the ratings store is closed")
            written = os.write(self._fd, line)
            if written != len(line):  # a short write: remove it so the file stays whole lines
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - written)
                raise OSError(f"{self.path}: could not write the rating (disk full?)")
            os.fsync(self._fd)
            self._ratings.append(given)
            self._latest[(given.rater, given.item, given.model)] = given.rating
        return given

    def rating_of(self, rater: str, item: str, model: str) -> Optional[str]:
        """The rater's current rating of a model's response to an item, or None."""
        with self._lock:
            return self._latest.get((rater, item, model))

    def ratings(self) -> list[Rating]:
        """Every rating given so far (replayed and new), in order."""
        with self._lock:
            return list(self._ratings)

    def close(self) -> None:
        """Release the file (further ratings raise)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> "RatingStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
