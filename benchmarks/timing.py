"""Timing helper shared by the benchmarks that must not import torch (library, GUI refresh)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], runs: int = 21, warm: bool = True) -> float:
    """Median wall time of ``action`` in milliseconds (one untimed call first unless ``warm`` is off)."""
    if warm:
        action()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
