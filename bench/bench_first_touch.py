"""What a fresh page costs this machine: first touch of anonymous memory, with and without
transparent huge pages, after the machine has sat idle for a while.

The index's slot tables and posting arenas are anonymous mappings that grow to hundreds of
megabytes, and every page of them is touched for the first time during admission. On bare metal
that costs the kernel a zeroing (gigabytes per second). On a virtual machine that reports free
memory back to its host (virtio-balloon free page reporting), a page the guest has reported must
be backed by the host again on first touch; the guest reports free blocks of huge-page size, so a
fresh huge page is always such a block, while 4 KiB pages often come from memory the guest still
holds. This script shows which kind of machine it runs on (docs/admission_index.md: why huge
pages are opt-in, SELFINSTRUCT_HUGE_PAGES=1).

    python bench/bench_first_touch.py                 # 512 MB, 3 rounds, 20 s idle before each touch
    python bench/bench_first_touch.py --idle 0        # memory just freed by the previous touch

Each round maps the memory (marked MADV_HUGEPAGE or MADV_NOHUGEPAGE), writes one byte per 4 KiB
page, then rewrites it all (the speed of memory already backed), and unmaps it. Linux only.
"""
from __future__ import annotations

import argparse
import mmap
import os
import platform
import statistics
import time

PAGE = 4096


def touch_rates(megabytes: int, huge: bool) -> tuple[float, float]:
    """MB/s of the first touch and of a rewrite of a fresh anonymous mapping."""
    size = megabytes << 20
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        memory.madvise(mmap.MADV_HUGEPAGE if huge else mmap.MADV_NOHUGEPAGE)
        view = memoryview(memory)
        started = time.perf_counter()
        for offset in range(0, size, PAGE):
            view[offset] = 1
        first = time.perf_counter() - started
        block = b"\x02" * (1 << 20)
        started = time.perf_counter()
        for offset in range(0, size, len(block)):
            view[offset : offset + len(block)] = block
        rewrite = time.perf_counter() - started
        view.release()
    finally:
        memory.close()
    return megabytes * 1.048576 / first, megabytes * 1.048576 / rewrite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds to sit idle before each touch")
    args = parser.parse_args()
    if not hasattr(mmap, "MADV_HUGEPAGE"):
        raise SystemExit("this platform has no MADV_HUGEPAGE (Linux only)")
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled", encoding="ascii") as handle:
            thp = handle.read().strip()
    except OSError:
        thp = "unknown"
    print(f"# First touch of {args.megabytes} MB of anonymous memory — {platform.machine()}, {os.cpu_count()} cores, "
          f"transparent huge pages: {thp}, {args.idle:g} s idle before each touch")
    print("| pages | first touch MB/s (median) | runs | rewrite MB/s (median) |")
    print("|---|---:|---|---:|")
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(args.rounds):
        for huge in (True, False):
            time.sleep(args.idle)
            results[huge].append(touch_rates(args.megabytes, huge))
    for huge in (True, False):
        firsts = [first for first, _ in results[huge]]
        rewrites = [rewrite for _, rewrite in results[huge]]
        print(f"| {'2 MiB (MADV_HUGEPAGE)' if huge else '4 KiB (MADV_NOHUGEPAGE)'} | {statistics.median(firsts):,.0f} | "
              f"{', '.join(f'{rate:,.0f}' for rate in firsts)} | {statistics.median(rewrites):,.0f} |")


if __name__ == "__main__":
    main()
