"""Batch order for training: seeded, reproducible per epoch, optionally grouped by length.

Grouping sorts each window of ``window * batch_size`` shuffled triplets by length and cuts
it into batches, so a batch pads little while batches still come in random order. The
order is a pure function of (seed, epoch), which is what makes exact resume possible.

>>> epoch_batches([3, 1, 2, 5], batch_size=2, seed=0, epoch=0, group_by_length=False)
[[2, 0], [1, 3]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    seed: int,
    epoch: int,
    group_by_length: bool = True,
    window: int = 16,
) -> list[list[int]]:
    """Index batches for one epoch; the last incomplete batch is dropped (contrastive
    batches must be full so every anchor sees the same number of negatives)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if group_by_length:
        span = window * batch_size
        grouped = []
        for start in range(0, len(order), span):
            chunk = order[start : start + span]
            grouped.extend(sorted(chunk.tolist(), key=lambda i: -lengths[i]))
        order = np.asarray(grouped, dtype=np.int64)
    n_full = len(order) // batch_size
    batches = [order[i * batch_size : (i + 1) * batch_size].tolist() for i in range(n_full)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def batch_stream(
    lengths: Sequence[int],
    batch_size: int,
    seed: int,
    group_by_length: bool = True,
    epoch: int = 0,
    start: int = 0,
) -> Iterator[tuple[int, int, list[int]]]:
    """(epoch, index in epoch, batch) from batch ``start`` of ``epoch`` on, across epochs
    without end: the training loop takes what it needs and can stop anywhere, and a resume
    continues from the saved (epoch, index).

    >>> import itertools
    >>> list(itertools.islice(batch_stream([1, 2, 3], 2, seed=0, group_by_length=False), 3))
    [(0, 0, [2, 0]), (1, 0, [2, 0]), (2, 0, [2, 1])]
    """
    while True:
        batches = epoch_batches(lengths, batch_size, seed, epoch, group_by_length)
        for i in range(start, len(batches)):
            yield epoch, i, batches[i]
        epoch, start = epoch + 1, 0


def longest_first_chunks(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices sorted by length, longest first, cut ``size`` at a time: chunks that pad
    little (and, longest first, hit a memory limit on the first chunk, not the last).
    Embedding a chunk of texts does not depend on which other texts share it, so encoding
    and GradCache both cut their batches this way.

    >>> longest_first_chunks([3, 7, 1, 5], 3)
    [[1, 3, 0], [2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


def token_bounded_chunks(
    lengths: Sequence[int], size: int, max_tokens: int | None, packed: bool = False
) -> list[list[int]]:
    """Longest-first chunks of at most ``size`` texts and at most ``max_tokens`` padded
    tokens (rows x the chunk's longest text; a text longer than that alone is its own
    chunk), or, ``packed``, real tokens (the sum of the lengths: packed rows compute no
    padding). Why a token bound: on a CPU, past a few thousand tokens a pass gets slower per
    token (activations leave the cache, attention's L x L grows), so 32 texts of 512
    tokens embed slower than 4 passes of 8; short texts still go ``size`` at a time.

    >>> token_bounded_chunks([3, 7, 1, 5], 3, max_tokens=10)
    [[1], [3, 0], [2]]
    >>> token_bounded_chunks([3, 7, 1, 5], 3, max_tokens=10, packed=True)
    [[1], [3, 0, 2]]
    >>> token_bounded_chunks([3, 7, 1, 5], 3, max_tokens=None)
    [[1, 3, 0], [2]]
    """
    if max_tokens is None:
        return longest_first_chunks(lengths, size)
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chunks: list[list[int]] = []
    tokens = 0  # the last chunk's: real tokens when packed, else padded
    for i in order:
        last = chunks[-1] if chunks else None
        if last and len(last) < size:
            # longest first, so the chunk's first text sets its padded length
            grown = tokens + lengths[i] if packed else (len(last) + 1) * max(lengths[last[0]], 1)
            if grown <= max_tokens:
                last.append(i)
                tokens = grown
                continue
        chunks.append([i])
        tokens = lengths[i]
    return chunks


def rank_share(batch: Sequence[int], rank: int, world: int) -> list[int]:
    """This process's rows of a global batch, dealt back and forth (0, 1, ..., P-1, P-1, ...,
    0, ...) so that when the batch is sorted by length every process gets as many rows and
    about as many tokens: a plain split hands rank 0 the longest texts, and every other rank
    waits for it at each all-reduce.

    >>> [rank_share([0, 1, 2, 3, 4, 5, 6, 7], r, 2) for r in range(2)]
    [[0, 3, 4, 7], [1, 2, 5, 6]]
    """
    if len(batch) % world:
        raise ValueError(f"a batch of {len(batch)} does not split over {world} processes")
    if world == 1:
        return list(batch)
    return [
        row
        for k, row in enumerate(batch)
        if (k % world if (k // world) % 2 == 0 else world - 1 - k % world) == rank
    ]
