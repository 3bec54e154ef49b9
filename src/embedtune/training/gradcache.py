"""Gradient caching (Gao et al. 2021, "GradCache"): a contrastive batch far larger than
memory allows, with exactly the gradient of the full batch.

Three steps per batch, each one small function:
1. ``embed_without_graph``: embed the batch in mini-batches without autograd, remembering
   which rows each mini-batch held and the RNG state before it (the plan);
2. the caller computes the loss on those embeddings (as leaf tensors) and backpropagates it
   to them: the gradient of the loss with respect to every embedding is now cached;
3. ``replay_with_graph``: embed each mini-batch of the plan again with autograd, from the
   same RNG state (so dropout draws the same masks), and backpropagate its cached gradient.

Mini-batches are cut from the texts sorted by length (each text's embedding and cached
gradient do not depend on which mini-batch it is in), so they pad little. Peak memory is one
mini-batch's activations plus the (B, D) embeddings; the first mini-batch holds the longest
texts, so it sets the peak (benchmarks/gradcache_memory.py: 32 texts at a time cost 1.06x a
plain 32-triplet batch, 96 at a time 2.5x).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from embedtune.data.batching import longest_first_chunks

RngState = tuple[torch.Tensor, torch.Tensor | None]  # (CPU generator, GPU generator or None)
Plan = list[tuple[list[int], RngState]]  # (rows of one mini-batch, RNG state before it)


def rng_state(device: torch.device) -> RngState:
    """The generator states dropout draws from: the CPU's, and the GPU's when the model runs
    there (GPU dropout draws from the GPU generator; replaying only the CPU state would give
    new masks and a silently wrong gradient)."""
    gpu = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), gpu


def set_rng_state(device: torch.device, state: RngState) -> None:
    cpu, gpu = state
    torch.set_rng_state(cpu)
    if gpu is not None:
        torch.cuda.set_rng_state(gpu, device)


def embed_without_graph(
    embedder, ids: Sequence[Sequence[int]], mini_batch: int
) -> tuple[torch.Tensor, Plan]:
    """(N, D) embeddings (rows in the order of ``ids``) computed without autograd, and the
    plan that ``replay_with_graph`` follows."""
    plan, out = [], None
    with torch.no_grad():
        for rows in longest_first_chunks([len(x) for x in ids], mini_batch):
            plan.append((rows, rng_state(embedder.device)))
            emb = embedder(embedder.collate([ids[i] for i in rows]))
            if out is None:
                out = emb.new_empty((len(ids), emb.shape[1]))
            out[rows] = emb
    return out, plan


def replay_with_graph(
    embedder, ids: Sequence[Sequence[int]], plan: Plan, grad: torch.Tensor
) -> None:
    """Re-embed each mini-batch of ``plan`` from its saved RNG state and backpropagate its
    cached gradient (``grad`` rows in the order of ``ids``)."""
    for rows, state in plan:
        set_rng_state(embedder.device, state)
        emb = embedder(embedder.collate([ids[i] for i in rows]))  # (m, D)
        emb.backward(grad[rows])


def embed(embedder, ids: Sequence[Sequence[int]], mini_batch: int | None):
    """(N, D) embeddings for the loss, and what to call once the loss has been
    backpropagated. Without ``mini_batch``: embeddings with autograd, nothing to call. With
    it: GradCache's leaf embeddings, and the call replays each mini-batch with its cached
    gradient. The caller decides for the whole batch (anchors and candidates alike)."""
    if mini_batch is None:
        return embedder(embedder.collate(ids)), lambda: None
    out, plan = embed_without_graph(embedder, ids, mini_batch)
    out.requires_grad_(True)
    return out, lambda: replay_with_graph(embedder, ids, plan, out.grad)
