"""Gradient caching (Gao et al. 2021, "GradCache"): a contrastive batch far larger than
memory allows, with exactly the gradient of the full batch.

Three steps per batch, each one small function:
1. ``embed_without_graph``: embed the batch in mini-batches without autograd, remembering
   the RNG state before each mini-batch;
2. the caller computes the loss on those embeddings (as leaf tensors) and backpropagates it
   to them: the gradient of the loss with respect to every embedding is now cached;
3. ``replay_with_graph``: embed each mini-batch again with autograd, from the same RNG state
   (so dropout draws the same masks), and backpropagate its cached gradient.

Peak memory is one mini-batch's activations plus the (B, D) embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _chunks(ids: Sequence, size: int) -> list[Sequence]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def embed_without_graph(
    embedder, ids: Sequence[Sequence[int]], mini_batch: int
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(N, D) embeddings computed without autograd, and the RNG state before each chunk."""
    states, parts = [], []
    with torch.no_grad():
        for chunk in _chunks(ids, mini_batch):
            states.append(torch.get_rng_state())
            parts.append(embedder(embedder.collate(chunk)))
    return torch.cat(parts), states


def replay_with_graph(
    embedder,
    ids: Sequence[Sequence[int]],
    mini_batch: int,
    states: list[torch.Tensor],
    grad: torch.Tensor,
) -> None:
    """Re-embed each chunk from its saved RNG state and backpropagate its cached gradient."""
    start = 0
    for chunk, state in zip(_chunks(ids, mini_batch), states):
        torch.set_rng_state(state)
        emb = embedder(embedder.collate(chunk))  # (m, D)
        emb.backward(grad[start : start + len(chunk)])
        start += len(chunk)
