"""Sequence packing: the texts of a batch laid end to end in a few rows, so no padding is
computed.

A padded batch computes every text at the length of its longest: on the NLI triplets, even in
length-grouped batches, about 37 % of the tokens a training step computes are padding
(anchors are twice as long as their hypotheses and share no pass with them). Packing lays the
texts end to end in rows of about ``row_tokens`` tokens (first fit, longest first), gives each
text its own positions from 0, and passes no attention mask: transformers' mask helpers then
read each reset of ``position_ids`` as the start of a new text and keep every text's attention
inside itself (block-diagonal, causal within each block; only without a KV cache, which
``Embedder.forward`` never asks for). Each text's token states are read back into the padded
(B, M, D) layout, so every pooling mode works unchanged.

Rows of a few hundred tokens, not one row for the whole batch: attention is computed for the
whole row, so its cost grows with the row's length squared.

A model whose modelling code builds its mask some other way (BERT-style encoders, or a
decoder with the causal mask lifted) would let the texts of a row see each other, silently.
:func:`isolates_texts` proves the model keeps them apart before training packs anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from embedtune.errors import ConfigError


def first_fit(lengths: Sequence[int], row_tokens: int) -> list[list[int]]:
    """Text indices per row: longest first, each into the first row it fits (a row holds at
    most ``row_tokens`` tokens, or the longest text when that is longer).

    >>> first_fit([5, 3, 4, 2], 8)
    [[0, 1], [2, 3]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    cap = max(row_tokens, max(lengths))
    rows: list[list[int]] = []
    fill: list[int] = []
    for i in order:
        for r, used in enumerate(fill):
            if used + lengths[i] <= cap:
                rows[r].append(i)
                fill[r] += lengths[i]
                break
        else:
            rows.append([i])
            fill.append(lengths[i])
    return rows


def pack(ids: Sequence[Sequence[int]], row_tokens: int, pad_id: int) -> dict[str, torch.Tensor]:
    """A packed batch of ``ids``: ``input_ids`` and ``position_ids`` (R, L) for the model, and
    for pooling ``text_index`` (B, M), each text's token positions in the flattened (R * L)
    rows, with ``text_mask`` (B, M) marking the real ones (M: the longest text)."""
    lengths = [len(x) for x in ids]
    rows = first_fit(lengths, row_tokens)
    width = max(sum(lengths[i] for i in row) for row in rows)
    longest = max(lengths)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    # the row's unused tail: position 0 each, so every pad token is a text of its own
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    text_index = torch.zeros((len(ids), longest), dtype=torch.long)
    text_mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for i in row:
            n = lengths[i]
            input_ids[r, start : start + n] = torch.as_tensor(ids[i])
            position_ids[r, start : start + n] = torch.arange(n)
            text_index[i, :n] = r * width + start + torch.arange(n)
            text_mask[i, :n] = 1
            start += n
    return {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "text_index": text_index,
        "text_mask": text_mask,
    }


# Encoding packs a pass only when padding it would compute this much more than its real
# tokens: a packed row attends across all its texts (the block-diagonal mask hides, it does not
# skip), which doubled attention's time in a profile of rows of 96 tokens, so a pass of texts of
# about one length, as length-sorted encoding makes most of them, runs faster padded.
PACK_MIN_PADDING = 0.1


def pays_to_pack(lengths: Sequence[int]) -> bool:
    """Whether a pass of texts of these lengths should be packed rather than padded.

    >>> pays_to_pack([10, 10, 9]), pays_to_pack([30, 10, 9])
    (False, True)
    """
    return len(lengths) * max(lengths) > (1 + PACK_MIN_PADDING) * sum(lengths)


def unpack(hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(R, L, D) states of a packed batch -> (B, M, D), each text's states from position 0
    (positions past a text's end hold a copy of row 0's first state; ``text_mask`` is 0
    there)."""
    return hidden.flatten(0, 1)[batch["text_index"]]


@torch.no_grad()
def isolates_texts(backbone: nn.Module) -> bool:
    """Whether, with two texts packed in one row, the second text's states are the same
    whatever the first text holds (the mask keeps each text to itself)."""
    vocab = int(backbone.config.get_text_config().vocab_size)
    device = next(backbone.parameters()).device
    second = [4, 5, 6]
    states = []
    was_training = backbone.training
    backbone.eval()
    try:
        for first in ([1, 2, 3], [7, 8, 9]):
            batch = pack([[t % vocab for t in first], [t % vocab for t in second]], 6, 0)
            hidden = backbone(
                input_ids=batch["input_ids"].to(device),
                position_ids=batch["position_ids"].to(device),
                use_cache=False,
            ).last_hidden_state
            states.append(unpack(hidden, batch)[1].float())
    finally:
        backbone.train(was_training)
    return torch.allclose(states[0], states[1], atol=1e-6, rtol=0)


def check_packable(embedder) -> None:
    """Raise ConfigError unless ``embedder``'s model keeps packed texts apart (probed under
    its autocast: a LoRA adapter's fp32 weights sit beside bf16 ones)."""
    base = embedder.base_model
    with embedder.autocast():
        isolated = embedder.takes_position_ids and isolates_texts(base)
    if not isolated:
        arch = ", ".join(getattr(base.config, "architectures", None) or [])
        raise ConfigError(
            f"`pack_tokens`: {arch or type(base).__name__} lets packed texts see each other "
            "(its mask does not follow position_ids; encoders and decoders with `attention: "
            "bidirectional` do not); leave pack_tokens unset"
        )
