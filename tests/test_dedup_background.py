"""The reader and writer threads of `dedup`: order kept, errors raised where the result is needed."""
from __future__ import annotations

import threading

import pytest

from selfinstruct.dedup.background import ReadAhead, WriteBehind


def test_read_ahead_yields_in_order_then_raises_the_producers_error():
    def items():
        yield from range(5)
        raise ValueError("bad record at line 6")

    reader = ReadAhead(items(), depth=2)
    got = []
    with pytest.raises(ValueError, match="line 6"):
        for item in reader:
            got.append(item)
    assert got == [0, 1, 2, 3, 4] and reader.busy_seconds >= 0


def test_read_ahead_stops_producing_when_closed():
    produced = []

    def items():
        for k in range(1000):
            produced.append(k)
            yield k

    reader = ReadAhead(items(), depth=2)
    assert next(iter(reader)) == 0
    reader.close()
    reader._thread.join(5)
    assert not reader._thread.is_alive() and len(produced) < 10  # bounded read-ahead, then stopped


def test_write_behind_keeps_order_and_raises_its_error_at_submit_or_finish():
    done = []
    writer = WriteBehind(done.append, depth=2)
    for k in range(100):
        writer.submit(k)
    writer.finish()
    assert done == list(range(100))

    def work(item):
        if item == 3:
            raise OSError(28, "No space left on device")
        assert threading.current_thread().name == "write-behind"

    writer = WriteBehind(work, depth=1)
    with pytest.raises(OSError, match="No space"):
        for k in range(100):
            writer.submit(k)
        writer.finish()
