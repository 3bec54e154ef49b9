"""InfoNCE over in-batch positives and hard negatives (the study's Eq. 3).

For a batch of B triplets with embeddings a_i, p_i, n_i and cosine similarity s:

    L = -1/B * sum_i log( exp(s(a_i, p_i)/t)
                          / (sum_j exp(s(a_i, p_j)/t) + sum_j exp(s(a_i, n_j)/t)) )

With ``hard_negatives=False`` (or no negatives) the second sum is dropped: Eq. 2, the
study's ablation. t = 0.05 is sentence-transformers' ``scale = 1/t = 20``. Candidates marked
in ``false_negatives`` (the same text as the anchor's positive, see ``false_negatives.py``)
leave the denominators: they are not negatives.

The module takes embeddings, not a model, so it can be tested on random tensors and reused
by the cached (GradCache) and multi-process variants.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class InfoNCELoss(nn.Module):
    def __init__(self, temperature: float = 0.05, hard_negatives: bool = True):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature}")
        self.temperature = temperature
        self.hard_negatives = hard_negatives

    def forward(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor | None = None,
        label_offset: int = 0,
        false_negatives: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``anchor`` (B, D) against ``positive`` (P, D) and ``negative`` (N, D).

        ``positive`` may hold more rows than ``anchor`` (positives gathered from other
        processes); anchor i's own positive is row ``label_offset + i``. ``false_negatives``
        (B, P+N) bool masks candidates out of anchor i's denominator (its columns past P are
        ignored when hard negatives are off).
        """
        a = F.normalize(anchor.float(), dim=-1)  # (B, D)
        candidates = F.normalize(positive.float(), dim=-1)  # (P, D)
        if self.hard_negatives and negative is not None:
            candidates = torch.cat([candidates, F.normalize(negative.float(), dim=-1)])  # (P+N, D)
        logits = a @ candidates.T / self.temperature  # (B, P+N)
        if false_negatives is not None:
            logits = logits.masked_fill(false_negatives[:, : logits.shape[1]], float("-inf"))
        labels = torch.arange(a.shape[0], device=a.device) + label_offset  # (B,)
        return F.cross_entropy(logits, labels)
