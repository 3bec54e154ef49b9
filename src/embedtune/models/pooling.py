"""Pooling token states into one sentence vector.

Every mode locates tokens from the attention mask, never from ``input_ids != pad``, so it is
correct under left and right padding alike (and when the pad id equals the EOS id, as it
does for many decoders).

>>> h = torch.arange(6.).view(1, 3, 2)            # (B=1, L=3, D=2)
>>> m = torch.tensor([[0, 1, 1]])                 # left-padded: tokens 1 and 2 are real
>>> pool(h, m, "last_token"), pool(h, m, "cls"), pool(h, m, "mean")
(tensor([[4., 5.]]), tensor([[2., 3.]]), tensor([[3., 4.]]))
"""

from __future__ import annotations

import torch

POOLING_MODES = ("last_token", "mean", "weighted_mean", "cls")
# each mode as sentence-transformers names it: (its Pooling module's mode, the key of its
# 1_Pooling/config.json); the export writes the first, loading a folder reads the second
ST_POOLING = {
    "last_token": ("lasttoken", "pooling_mode_lasttoken"),
    "mean": ("mean", "pooling_mode_mean_tokens"),
    "weighted_mean": ("weightedmean", "pooling_mode_weightedmean_tokens"),
    "cls": ("cls", "pooling_mode_cls_token"),
}


def last_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """State of the last real token: the appended EOS for decoders (the study's embedding)."""
    positions = torch.arange(mask.shape[1], device=mask.device)  # (L,)
    last = (mask * positions).argmax(dim=1)  # (B,) index of the last 1 in each row
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]  # (B, D)


def cls(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """State of the first real token ([CLS] for BERT-style encoders)."""
    first = mask.argmax(dim=1)  # (B,) index of the first 1 in each row
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), first]  # (B, D)


def mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the real tokens' states (sentence-transformers' default for encoders)."""
    w = mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
    return (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B, D)


def weighted_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Position-weighted mean (SGPT): token k of n real tokens weighs k, since in a
    decoder later tokens have seen more of the sentence."""
    rank = mask.cumsum(dim=1) * mask  # (B, L) 1..n on real tokens, 0 on padding
    w = rank.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
    return (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B, D)


_MODES = {"last_token": last_token, "cls": cls, "mean": mean, "weighted_mean": weighted_mean}


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool ``hidden`` (B, L, D) under ``mask`` (B, L) with one of :data:`POOLING_MODES`."""
    try:
        fn = _MODES[mode]
    except KeyError:
        raise ValueError(f"unknown pooling {mode!r}; choose one of {POOLING_MODES}") from None
    return fn(hidden, mask)
