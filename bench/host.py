"""How quick this host is at the moment, so benchmark figures from different days can be compared.

The machines these benches run on are shared: the same 2 cores ran a plain Python loop of 10M
additions in 0.8 s one day and 1.7 s another, and every figure moved with it. Each bench records
this loop's time beside its figures (`host_loop_s`); compare figures only between runs whose
loops took about as long."""

from __future__ import annotations

import time


def loop_seconds(n: int = 10_000_000) -> float:
    """Seconds for one core to add up n integers in a plain Python loop (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(n):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 2)
