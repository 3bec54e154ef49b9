"""The training triplets as the loop uses them: token ids (tokenized once, batches reuse
them), the lengths batches are grouped by, and stable text keys for the false-negative mask.
"""

from __future__ import annotations

import torch

from embedtune import parallel
from embedtune.config import TrainConfig
from embedtune.data.triplets import Triplets
from embedtune.losses.false_negatives import false_negative_mask, text_keys


class EncodedTriplets:
    def __init__(self, triplets: Triplets, embedder, cfg: TrainConfig):
        tok, t = embedder.token_ids, triplets
        # anchors are the query side, positives and negatives the document side (the same
        # prompt for both unless query_prompt / document_prompt are set)
        self.anchors = tok(t.anchors, cfg.max_length, role="query")
        self.positives = tok(t.positives, cfg.max_length, role="document")
        use_negatives = bool(t.negatives) and cfg.hard_negatives
        self.negatives = (
            tok(t.negatives, cfg.max_length, role="document") if use_negatives else None
        )
        self.lengths = [len(a) + len(p) for a, p in zip(self.anchors, self.positives)]
        self.keys = None  # (anchor, positive, negative or None) keys, when masking is on
        if cfg.mask_false_negatives:
            texts = (t.anchors, t.positives, t.negatives if use_negatives else None)
            self.keys = [text_keys(x) if x else None for x in texts]

    def texts_of(self, idx: list[int]) -> tuple[list[list[int]], list[list[int]]]:
        """Token ids of rows ``idx``: the anchors, and the candidates (positives, then hard
        negatives when they are used)."""
        cands = [self.positives[i] for i in idx]
        if self.negatives is not None:
            cands += [self.negatives[i] for i in idx]
        return [self.anchors[i] for i in idx], cands

    def false_negatives(self, idx: list[int], offset: int) -> torch.Tensor | None:
        """(B, P+N) mask of this process's anchors' candidates that are duplicates, from the
        text keys of every process's rows (None when masking is off)."""
        if self.keys is None:
            return None
        rows = torch.as_tensor(idx)
        a, p, n = (k[rows] if k is not None else None for k in self.keys)
        gather = parallel.all_gather
        return false_negative_mask(
            a, p, gather(a), gather(p), gather(n) if n is not None else None, offset
        )
