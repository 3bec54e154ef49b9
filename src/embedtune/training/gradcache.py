"""Gradient caching (Gao et al. 2021, "GradCache"): a contrastive batch far larger than
memory allows, with exactly the gradient of the full batch.

Three steps per batch, each one small function:
1. ``embed_without_graph``: embed the batch in mini-batches without autograd, remembering
   the RNG state before each mini-batch;
2. the caller computes the loss on those embeddings (as leaf tensors) and backpropagates it
   to them: the gradient of the loss with respect to every embedding is now cached;
3. ``replay_with_graph``: embed each mini-batch again with autograd, from the same RNG state
   (so dropout draws the same masks), and backpropagate its cached gradient.

Mini-batches are cut from the texts sorted by length (each text's embedding and cached
gradient do not depend on which mini-batch it is in), so they pad little: a mini-batch of
random NLI texts pads to its longest one, which made mini-batches of 96 texts use 2.7x the
memory of a plain 32-triplet batch in benchmarks/gradcache_memory.py. Peak memory is one
mini-batch's activations plus the (B, D) embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def mini_batches(ids: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """Row indices of each mini-batch: longest texts first, ``size`` at a time."""
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


def embed_without_graph(
    embedder, ids: Sequence[Sequence[int]], mini_batch: int
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(N, D) embeddings (rows in the order of ``ids``) computed without autograd, and the
    RNG state before each mini-batch."""
    states, out = [], None
    with torch.no_grad():
        for rows in mini_batches(ids, mini_batch):
            states.append(torch.get_rng_state())
            emb = embedder(embedder.collate([ids[i] for i in rows]))
            if out is None:
                out = emb.new_empty((len(ids), emb.shape[1]))
            out[rows] = emb
    return out, states


def replay_with_graph(
    embedder,
    ids: Sequence[Sequence[int]],
    mini_batch: int,
    states: list[torch.Tensor],
    grad: torch.Tensor,
) -> None:
    """Re-embed each mini-batch from its saved RNG state and backpropagate its cached
    gradient (``grad`` rows in the order of ``ids``)."""
    for rows, state in zip(mini_batches(ids, mini_batch), states):
        torch.set_rng_state(state)
        emb = embedder(embedder.collate([ids[i] for i in rows]))  # (m, D)
        emb.backward(grad[rows])
