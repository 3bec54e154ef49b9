"""Matryoshka representation learning: the same contrastive loss on nested prefixes of the
embedding, so the first d dimensions work on their own (Kusupati et al., 2022;
sentence-transformers' MatryoshkaLoss).

    L = sum_k w_k * L_base(a[:, :d_k], p[:, :d_k], n[:, :d_k])

Each prefix is re-normalised inside the base loss (InfoNCE normalises its inputs), so a
truncated vector is scored exactly as a user who truncates and re-normalises would score it.
The wrapper takes embeddings like the base loss, so GradCache (which differentiates the loss
with respect to cached embeddings) and gathered negatives work unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from embedtune.errors import ConfigError


def check_dims(
    dims: list[int] | None, weights: list[float] | None, model_dim: int | None = None
) -> None:
    """Raise ConfigError naming the key when ``matryoshka_dims`` / ``matryoshka_weights``
    cannot work: not strictly descending, not positive, above the model's size, or a weight
    list of another length."""
    if dims is None:
        if weights is not None:
            raise ConfigError("`matryoshka_weights` needs `matryoshka_dims`")
        return
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in dims):
        raise ConfigError(f"`matryoshka_dims` must be positive integers, got {dims}")
    if any(a <= b for a, b in zip(dims, dims[1:])):
        raise ConfigError(f"`matryoshka_dims` must be strictly descending, got {dims}")
    if model_dim is not None and dims[0] > model_dim:
        raise ConfigError(
            f"`matryoshka_dims` starts at {dims[0]}, above the model's {model_dim} dimensions"
        )
    if weights is not None:
        if len(weights) != len(dims):
            raise ConfigError(
                f"`matryoshka_weights` has {len(weights)} values for {len(dims)} `matryoshka_dims`"
            )
        if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
            raise ConfigError(f"`matryoshka_weights` must be >= 0 and not all 0, got {weights}")


class MatryoshkaLoss(nn.Module):
    def __init__(self, base: nn.Module, dims: list[int], weights: list[float] | None = None):
        super().__init__()
        check_dims(dims, weights)
        self.base, self.dims = base, list(dims)
        self.weights = list(weights) if weights is not None else [1.0] * len(dims)

    def forward(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor | None = None,
        label_offset: int = 0,
        false_negatives: torch.Tensor | None = None,
    ) -> torch.Tensor:
        total = anchor.new_zeros((), dtype=torch.float32)
        for d, w in zip(self.dims, self.weights):
            if w == 0:
                continue
            neg = negative[:, :d] if negative is not None else None
            total = total + w * self.base(
                anchor[:, :d], positive[:, :d], neg, label_offset, false_negatives
            )
        return total
