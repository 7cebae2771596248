"""How quick this host is at the moment, so benchmark figures from different days can be compared.

The machines these benches run on are shared: the same 2 cores ran a plain Python loop of 10M
additions in 0.8 s one day and 1.7 s another, and every figure moved with it. Each bench records
this loop's time beside its figures (`host_loop_s`); compare figures only between runs whose
loops took about as long."""

from __future__ import annotations

import time


def loop_seconds(n: int = 10_000_000) -> float:
    """Seconds for one core to add up n integers in a plain Python loop at module level, as
    `python -c` runs it (best of three). Inside a function the same loop runs about 2.5 times faster
    (local variables), so the figure is kept the way the issue notes measured it."""
    best = float("inf")
    code = compile("total = 0\nfor i in range(n):\n    total += i\n", "host-loop", "exec")
    for _ in range(3):
        started = time.perf_counter()
        exec(code, {"n": n})
        best = min(best, time.perf_counter() - started)
    return round(best, 2)
