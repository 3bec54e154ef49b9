"""Dropout whose mask costs a quarter of the random numbers.

On CPU, ``torch.nn.Dropout`` draws one random number per element (``bernoulli_``), and in the
study's recipe (LoRA dropout 0.1 on the inputs of q_proj and v_proj) those draws were 15 % of
a training step of gemma3-270m (benchmarks/mfu_profile.py). Here one 64-bit draw yields four
16-bit uniforms: an element is kept when its uniform is at or above ``round(65536 p)``, and
kept elements are scaled by the inverse of the exact keep rate, so the expectation is
unchanged and p is honoured to 1/65536. The mask comes from torch's default generator, so
seeding and ``torch.set_rng_state`` (GradCache's replay) reproduce it. Off CPU it defers to
``torch.nn.functional.dropout``, which is already fused there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LEVELS = 65536


class FastDropout(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.threshold = round(_LEVELS * p)  # uniforms below this (out of 65536) are dropped
        self.scale = _LEVELS / (_LEVELS - self.threshold)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
        uniform16 = words.view(torch.int16)[:n].view(x.shape)  # each in [-32768, 32767]
        keep = uniform16 >= self.threshold - _LEVELS // 2
        return x * keep * self.scale
