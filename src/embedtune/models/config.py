"""The settings that turn a backbone's token states into a sentence embedding.

They are saved next to the weights (``embedtune.json``) so a model always embeds the way it
was trained: the same pooling, prompt, EOS handling and normalisation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from embedtune.errors import ConfigError
from embedtune.models.attention import ATTENTION_MODES
from embedtune.models.pooling import POOLING_MODES

CONFIG_FILE = "embedtune.json"


@dataclass
class EmbedderConfig:
    pooling: str = "mean"
    prompt: str = "{}"  # e.g. 'This sentence: "{}" means in one word: "' (PromptEOL)
    # asymmetric search: queries and documents embedded with templates of their own
    # (e.g. "query: {}" / "passage: {}"); None: ``prompt``
    query_prompt: str | None = None
    document_prompt: str | None = None
    normalize: bool = True
    max_length: int | None = None  # None: the model's own limit
    # Append the tokenizer's EOS to every text. The study embeds with the EOS state, and
    # many tokenizers (Gemma, Llama, Phi-2) never append it themselves. None: on for
    # last-token pooling when the tokenizer has an EOS token (encoders end in [SEP]
    # already), off otherwise; resolved when the Embedder is built.
    append_eos: bool | None = None
    padding_side: str = "right"
    # "bidirectional": a decoder's causal mask is lifted (LLM2Vec); "default": the model's own
    attention: str = "default"
    base_model: str | None = None  # backbone reference when the weights are a LoRA adapter
    adapter: bool = False
    # the backbone runs modelling code shipped with it (auto_map); saved so that a model
    # trusted once loads again without the flag
    trust_remote_code: bool = False
    # the nested prefixes Matryoshka training made usable on their own (None: not trained so)
    matryoshka_dims: list[int] | None = None
    # what the saved rotation (rotation.npy, models/rotation.py) was fitted on; None: none
    rotation: str | None = None

    def __post_init__(self) -> None:
        if self.pooling not in POOLING_MODES:
            raise ConfigError(f"`pooling` must be one of {POOLING_MODES}, got {self.pooling!r}")
        for key in ("prompt", "query_prompt", "document_prompt"):
            value = getattr(self, key)
            if value is not None and value.count("{}") != 1:
                raise ConfigError(f"`{key}` must contain exactly one '{{}}', got {value!r}")
        if self.max_length is not None and self.max_length < 2:
            raise ConfigError(f"`max_length` must be >= 2, got {self.max_length}")
        if self.attention not in ATTENTION_MODES:
            raise ConfigError(
                f"`attention` must be one of {ATTENTION_MODES}, got {self.attention!r}"
            )
        if self.padding_side not in ("left", "right"):
            raise ConfigError(
                f"`padding_side` must be 'left' or 'right', got {self.padding_side!r}"
            )

    def prompt_for(self, role: str | None) -> str:
        """The template for a text of ``role``: "query", "document", or None (STS, NLI)."""
        if role not in (None, "query", "document"):
            raise ConfigError(f"role must be 'query' or 'document', got {role!r}")
        chosen = {"query": self.query_prompt, "document": self.document_prompt}.get(role)
        return chosen if chosen is not None else self.prompt

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> EmbedderConfig:
        path = folder / CONFIG_FILE
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**raw)
