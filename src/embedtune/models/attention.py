"""Bidirectional attention for decoders: every token sees the whole text, not only its past.

A causal decoder's early tokens never see the end of the sentence, which is why its mean
pooling is weak and why the study pools the last token. LLM2Vec (BehnamGhader et al., 2024)
lifts the causal mask so every state can use the whole text; after contrastive training this
helped their decoders on STS.

transformers builds masks from the config: with ``config.is_causal`` false, its mask helpers
make a bidirectional padding mask (sliding-window layers get a bidirectional window), and
Gemma reads ``use_bidirectional_attention`` (EmbeddingGemma's switch). The attention
modules carry an ``is_causal`` flag of their own that SDPA falls back on when a batch needs
no padding mask, so that flag is cleared too. Padding still cannot leak: the padding mask
is kept, only the causal part is dropped.

An architecture whose modelling code ignores these switches would silently stay causal, so
:func:`make_bidirectional` proves it worked with a probe: changing the last token must change
the first token's state.
"""

from __future__ import annotations

import torch
from torch import nn

from embedtune.errors import ConfigError

ATTENTION_MODES = ("default", "bidirectional")


def _text_configs(backbone: nn.Module) -> list:
    config = backbone.config
    inner = getattr(config, "get_text_config", lambda: config)()
    return [config] + ([inner] if inner is not config else [])


def make_bidirectional(backbone: nn.Module) -> None:
    """Drop the causal mask of ``backbone`` (a transformers model) in place, or raise
    ConfigError when its architecture does not let us."""
    for config in _text_configs(backbone):
        config.is_causal = False
        if hasattr(config, "use_bidirectional_attention"):
            config.use_bidirectional_attention = True
    for module in backbone.modules():
        if isinstance(getattr(module, "is_causal", None), bool):
            module.is_causal = False
    if not sees_future(backbone):
        arch = (
            ", ".join(getattr(backbone.config, "architectures", None) or [])
            or type(backbone).__name__
        )
        raise ConfigError(
            f"`attention: bidirectional`: {arch} stays causal after its mask is lifted "
            "(its modelling code does not read config.is_causal); use attention 'default'"
        )


@torch.no_grad()
def sees_future(backbone: nn.Module) -> bool:
    """Whether the first token's output state depends on the last token."""
    vocab = int(backbone.config.get_text_config().vocab_size)
    device = next(backbone.parameters()).device
    ids = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 5]], device=device) % vocab
    mask = torch.ones_like(ids)
    was_training = backbone.training
    backbone.eval()
    try:
        hidden = backbone(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    finally:
        backbone.train(was_training)
    return not torch.allclose(hidden[0, 0], hidden[1, 0], atol=1e-6, rtol=0)
