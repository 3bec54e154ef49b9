"""The learning-rate schedule: a pure function of the step, so resuming needs no state.

Update t = step + 1 (of ``total``) ramps up linearly to the peak at t = ``warmup``, then
follows a cosine that would reach the floor at t = total + 1: every update, the last one
included, moves the weights (a cosine that reaches 0 *at* the last update wastes it, 1 of 24
at batch 512 in the reproduction grid).

>>> [round(lr_at(s, 1.0, warmup=2, total=6), 3) for s in range(6)]
[0.5, 1.0, 0.905, 0.655, 0.345, 0.095]
"""

from __future__ import annotations

import math


def lr_at(step: int, lr: float, warmup: int, total: int, min_ratio: float = 0.0) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay towards ``min_ratio * lr``,
    reached one step after ``total``. ``step`` counts from 0 (the lr of the first update)."""
    t = step + 1
    if t <= warmup:
        return lr * t / warmup
    progress = min(1.0, (t - warmup) / max(1, total + 1 - warmup))
    floor = lr * min_ratio
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
