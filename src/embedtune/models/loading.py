"""Resolving ``NAME | PATH | HUB_ID`` to an :class:`Embedder`.

Order: a registry name (offline package) -> a folder saved by embedtune (full weights or a
LoRA adapter over a referenced base) -> any other local folder (HF or sentence-transformers
layout) -> a Hub id. The pooling default comes from, in order: the caller, embedtune.json,
the registry, a sentence-transformers ``1_Pooling`` folder, the architecture (decoders use
the last token, encoders the mean).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import torch

from embedtune import parallel
from embedtune.errors import ConfigError, EmbedtuneError
from embedtune.models import registry
from embedtune.models.config import CONFIG_FILE, EmbedderConfig
from embedtune.models.embedder import DTYPES, Embedder

_ST_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_weightedmean_tokens": "weighted_mean",
    "pooling_mode_lasttoken": "last_token",
}


def _is_decoder(hf_config) -> bool:
    archs = getattr(hf_config, "architectures", None) or []
    return any(a.endswith("ForCausalLM") for a in archs) or bool(
        getattr(hf_config, "is_decoder", False)
    )


def _sentence_transformers_settings(folder: Path) -> dict:
    """Pooling and max length from a sentence-transformers folder, if it is one."""
    found: dict = {}
    pooling_cfg = folder / "1_Pooling" / "config.json"
    if pooling_cfg.is_file():
        raw = json.loads(pooling_cfg.read_text())
        modes = [mode for key, mode in _ST_POOLING.items() if raw.get(key)]
        if len(modes) == 1:
            found["pooling"] = modes[0]
    st_cfg = folder / "sentence_bert_config.json"
    if st_cfg.is_file():
        max_len = json.loads(st_cfg.read_text()).get("max_seq_length")
        if max_len:
            found["max_length"] = int(max_len)
    return found


def _load_backbone(source: str, dtype: torch.dtype, attn_implementation: str | None = None):
    from transformers import AutoModel, AutoTokenizer

    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        backbone = AutoModel.from_pretrained(source, dtype=dtype, **extra)
    except OSError as e:
        names = ", ".join(registry.NAMED_MODELS)
        raise EmbedtuneError(
            f"cannot load model {source!r}: not a named model ({names}), not a model folder, "
            f"and not loadable from the Hub ({e.__class__.__name__}: {str(e).splitlines()[0]})"
        ) from None
    return backbone, tokenizer


def _resolve_source(name: str) -> tuple[str, dict]:
    """Local folder (or Hub id) for ``name`` and the defaults that come with it."""
    named = registry.resolve_named(name)
    if named is not None:
        folder = registry.locate(name)
        defaults = _sentence_transformers_settings(folder)
        defaults["pooling"] = named.pooling
        return str(folder), defaults
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), _sentence_transformers_settings(path)
    if path.suffix or name.startswith((".", "/", "~")):
        raise EmbedtuneError(f"model path {name!r} does not exist")
    return name, {}


def load_embedder(
    name: str,
    dtype: str = "fp32",
    device: str | torch.device = "cpu",
    attn_implementation: str | None = None,
    **overrides,
) -> Embedder:
    """An Embedder from a named model, a folder (embedtune, sentence-transformers or plain
    transformers) or a Hub id, on ``device`` ('auto' picks a GPU when there is one)."""
    known = {f.name for f in fields(EmbedderConfig)} - {"base_model", "adapter"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown Embedder option(s) {unknown}; known: {sorted(known)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if dtype not in DTYPES:
        raise ConfigError(f"`dtype` must be one of {sorted(DTYPES)}, got {dtype!r}")
    device = parallel.local_device(device) if isinstance(device, str) else device
    folder = Path(name).expanduser()
    if (folder / CONFIG_FILE).is_file():
        saved = EmbedderConfig.read(folder)
        if saved.adapter:
            return _load_adapter(folder, saved, dtype, device, overrides, attn_implementation)
        settings = {f.name: getattr(saved, f.name) for f in fields(EmbedderConfig)}
        settings.update(overrides)
        backbone, tokenizer = _load_backbone(
            str(folder.resolve()), DTYPES[dtype], attn_implementation
        )
        return Embedder(backbone, tokenizer, EmbedderConfig(**settings), dtype).to(device)

    source, defaults = _resolve_source(name)
    backbone, tokenizer = _load_backbone(source, DTYPES[dtype], attn_implementation)
    settings = {"pooling": "last_token" if _is_decoder(backbone.config) else "mean"}
    settings.update(defaults)
    settings.update(overrides)
    settings["base_model"] = name if registry.resolve_named(name) else source
    return Embedder(backbone, tokenizer, EmbedderConfig(**settings), dtype).to(device)


def _load_adapter(
    folder: Path,
    saved: EmbedderConfig,
    dtype: str,
    device: str,
    overrides: dict,
    attn_implementation: str | None = None,
) -> Embedder:
    """A LoRA adapter folder: load its base model, then the adapter on top."""
    from peft import PeftModel

    if not saved.base_model:
        raise ConfigError(
            f"{folder / CONFIG_FILE}: `base_model` is required when `adapter` is true"
        )
    source, _ = _resolve_source(saved.base_model)
    from transformers import AutoModel, AutoTokenizer

    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    base = AutoModel.from_pretrained(source, dtype=DTYPES[dtype], **extra)
    backbone = PeftModel.from_pretrained(base, folder / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    settings = {f.name: getattr(saved, f.name) for f in fields(EmbedderConfig)}
    settings.update(overrides)
    return Embedder(backbone, tokenizer, EmbedderConfig(**settings), dtype).to(device)
