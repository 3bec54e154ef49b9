"""Tokenization for embedding: the prompt around each text, truncation that never cuts the
prompt's end, the EOS that last-token pooling reads, and the limits and pad id batches use.

One concept apart from the Embedder's model code; the PyTorch and ONNX embedders both
tokenize through it.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from embedtune.models.config import EmbedderConfig

_HUGE = 100_000  # tokenizers report 1e30 when they know no limit


def model_max_length(backbone: nn.Module, tokenizer) -> int:
    """The longest input the model takes: tokenizer and position-table limits, whichever
    is smaller (MTEB truncates the same way)."""
    limits = [getattr(tokenizer, "model_max_length", None)]
    limits.append(getattr(backbone.config, "max_position_embeddings", None))
    usable = [int(x) for x in limits if isinstance(x, (int, float)) and 1 < x < _HUGE]
    return min(usable) if usable else 512


def pad_token_id(tokenizer) -> int:
    """The id batches are padded with: the tokenizer's pad token, else its EOS (the attention
    mask hides either), else 0."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0


def token_ids(
    tokenizer,
    config: EmbedderConfig,
    texts: Sequence[str],
    max_length: int | None = None,
    role: str | None = None,
) -> list[list[int]]:
    """Token ids of each text after the prompt (of ``role``: "query", "document" or
    None), truncated (to ``max_length`` or the configured limit), with the EOS last.

    The EOS is appended by us, not by the tokenizer's template, so it is there
    whatever the tokenizer does and survives truncation. A prompt with text after the
    ``{}`` (PromptEOL's ``...means in one word: "``) is kept whole: the text inside it
    is cut, never the end of the prompt.
    """
    prompt = config.prompt_for(role)
    room = (max_length or config.max_length) - (1 if config.append_eos else 0)
    prompted = [prompt.format(t) for t in texts]
    if prompt.endswith("{}"):
        ids = tokenizer(prompted, add_special_tokens=True, truncation=True, max_length=room)[
            "input_ids"
        ]
    else:
        ids = tokenizer(prompted, add_special_tokens=True)["input_ids"]
        ids = [
            x if len(x) <= room else fit_in_prompt(tokenizer, t, room, prompt)
            for t, x in zip(texts, ids)
        ]
    if config.append_eos:
        eos = tokenizer.eos_token_id
        ids = [x if x and x[-1] == eos else x + [eos] for x in ids]
    return ids


def fit_in_prompt(tokenizer, text: str, room: int, prompt: str) -> list[int]:
    """Ids of the prompt around the longest prefix of ``text`` that fits in ``room``
    tokens. The text is cut at a token boundary (from the tokenizer's offsets, or by
    characters for tokenizers without them), then the whole prompt is tokenized again,
    so the ids are what the tokenizer gives for that shorter text."""

    def encode(cut: str) -> list[int]:
        return tokenizer(prompt.format(cut), add_special_tokens=True)["input_ids"]

    try:
        ends = [
            end
            for _, end in tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
                "offset_mapping"
            ]
        ]
    except (NotImplementedError, ValueError, KeyError):
        ends = list(range(1, len(text) + 1))  # no offsets: cut by characters
    keep = len(ends) - (len(encode(text)) - room)
    while keep > 0:
        ids = encode(text[: ends[keep - 1]])
        if len(ids) <= room:
            return ids
        keep -= max(1, len(ids) - room)
    return encode("")[:room]  # the prompt alone is longer than the limit
