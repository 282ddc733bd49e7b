"""Shared timing and formatting helpers for the benchmarks.

Every case times its implementations side by side in one process, interleaved: each repeat runs
one batch of ``number`` calls of every implementation in turn (rotating which goes first), and an
implementation's time is the minimum over repeats of (batch time / ``number``), as ``timeit``
recommends — the minimum is the run least disturbed by the rest of the machine.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterator

import torch

__all__ = [
    "QUICK",
    "Row",
    "format_time",
    "make_rows",
    "num_threads",
    "set_quick",
    "time_interleaved",
]

Row = dict  # {"case": str, "impl": str, "us_per_call": float, "ratio_to_floor": float, ...}

QUICK = os.environ.get("RSAMPLE_BENCH_QUICK", "") not in ("", "0")


def set_quick(value: bool) -> None:
    """Shorter runs (fewer repeats, shorter batches) for development and smoke tests."""
    global QUICK
    QUICK = value


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(n)`` (``None``: leave the setting alone)."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _batch_seconds(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def _autorange(fn: Callable[[], object], min_batch_s: float) -> int:
    """The smallest ``number`` in 1, 2, 5, 10, 20, … whose batch takes at least ``min_batch_s``."""
    number = 1
    while True:
        for step in (1, 2, 5):
            n = number * step
            if _batch_seconds(fn, n) >= min_batch_s:
                return n
        number *= 10


def time_interleaved(
    impls: dict[str, Callable[[], object]],
    *,
    repeat: int = 15,
    min_batch_s: float = 0.05,
    warmup: int = 3,
) -> dict[str, float]:
    """Best seconds per call of each implementation, timed interleaved in one process.

    Args:
        impls: ``{name: zero-argument callable}``; each call is one unit of work.
        repeat: batches per implementation; the minimum is kept.
        min_batch_s: a batch lasts at least this long (sets ``number`` from the slowest impl).
        warmup: untimed calls of each implementation first (allocator, caches, lazy init).
    """
    if QUICK:
        repeat, min_batch_s = max(3, repeat // 3), min_batch_s / 2
    for fn in impls.values():
        for _ in range(warmup):
            fn()
    number = max(_autorange(fn, min_batch_s) for fn in impls.values())
    names = list(impls)
    best = dict.fromkeys(names, float("inf"))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeat):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                best[name] = min(best[name], _batch_seconds(impls[name], number) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def make_rows(
    case: str,
    seconds: dict[str, float],
    floor: str,
    targets: dict[str, float] | None = None,
) -> list[Row]:
    """Rows ``{"case", "impl", "us_per_call", "ratio_to_floor"}`` (+ ``"target"`` where given)."""
    targets = targets or {}
    rows = []
    for impl, s in seconds.items():
        row = {
            "case": case,
            "impl": impl,
            "us_per_call": s * 1e6,
            "ratio_to_floor": s / seconds[floor],
        }
        if impl in targets:
            row["target"] = targets[impl]
        rows.append(row)
    return rows


def format_time(us: float) -> str:
    """``12.3 µs`` below a millisecond, ``4.56 ms`` above."""
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.1f} µs"
