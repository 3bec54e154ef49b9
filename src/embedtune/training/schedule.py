"""The learning-rate schedule: a pure function of the step, so resuming needs no state.

>>> [round(lr_at(s, 1.0, warmup=2, total=6), 3) for s in range(6)]
[0.5, 1.0, 1.0, 0.75, 0.25, 0.0]
"""

from __future__ import annotations

import math


def lr_at(step: int, lr: float, warmup: int, total: int, min_ratio: float = 0.0) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to ``min_ratio * lr`` at
    ``total``. ``step`` counts from 0 (the lr used for the first update)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    decay_steps = max(1, total - warmup - 1)
    progress = min(1.0, (step - warmup) / decay_steps)
    floor = lr * min_ratio
    return floor + (lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
