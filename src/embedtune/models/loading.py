"""Resolving ``NAME | PATH | HUB_ID`` to what an :class:`Embedder` is built from: a backbone,
its tokenizer, the embedding settings and the device (``Embedder.load`` builds it, so this
module does not import the Embedder: no import cycle).

Order: a registry name (offline package) -> a training run's folder (its ``final/``) -> a
folder saved by embedtune (full weights or a LoRA adapter over a referenced base) -> any other
local folder (HF or sentence-transformers layout) -> a Hub id (``sources.py``: never for
anything that looks like a path, and only after a quick check). The pooling default comes
from, in order: the caller, embedtune.json, the registry, a sentence-transformers
``1_Pooling`` folder, the architecture (decoders use the last token, encoders the mean).

Models whose architecture transformers does not know ship their own modelling code
(``auto_map`` in config.json, e.g. MiniCPM); running it needs ``trust_remote_code``, which is
off unless asked for and then saved with the model.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import fields
from pathlib import Path

import torch

from embedtune import devices
from embedtune.dtypes import check_dtype, torch_dtype
from embedtune.errors import ConfigError, EmbedtuneError
from embedtune.models import registry
from embedtune.models.config import CONFIG_FILE, EmbedderConfig
from embedtune.models.pooling import ST_POOLING
from embedtune.models.sources import check_hub, resolve_run_folder
from embedtune.paths import looks_like_path

Parts = tuple  # (backbone, tokenizer, EmbedderConfig, torch.device)
# peft asks transformers for a deprecated attribute on every wrap and load
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


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
        modes = [mode for mode, (_, key) in ST_POOLING.items() if raw.get(key)]
        if len(modes) == 1:
            found["pooling"] = modes[0]
    st_cfg = folder / "sentence_bert_config.json"
    if st_cfg.is_file():
        max_len = json.loads(st_cfg.read_text()).get("max_seq_length")
        if max_len:
            found["max_length"] = int(max_len)
    return found


def _needs_remote_code(source: str) -> list[str]:
    """The custom classes a local folder's config.json asks to run (empty for a Hub id)."""
    config = Path(source) / "config.json"
    if not config.is_file():
        return []
    try:
        return sorted(json.loads(config.read_text()).get("auto_map", {}).values())
    except (ValueError, AttributeError):
        return []


def _remote_code_error(source: str, detail: str) -> EmbedtuneError:
    return EmbedtuneError(
        f"model {source!r} ships its own modelling code ({detail}); if you trust it, pass "
        "--trust-remote-code (config key `trust_remote_code: true`)"
    )


def _load_backbone(
    source: str,
    dtype: torch.dtype,
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
    local_only: bool = False,
):
    from transformers import AutoModel, AutoTokenizer

    custom = _needs_remote_code(source)
    if custom and not trust_remote_code:
        raise _remote_code_error(source, f"auto_map in config.json: {', '.join(custom)}")
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    common = {"trust_remote_code": trust_remote_code, "local_files_only": local_only}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **common)
        backbone = AutoModel.from_pretrained(source, dtype=dtype, **common, **extra)
    except (OSError, ValueError, KeyError, ImportError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        if "trust_remote_code" in str(e) or "does not recognize this architecture" in str(e):
            raise _remote_code_error(source, first) from None
        names = ", ".join(registry.NAMED_MODELS)
        raise EmbedtuneError(
            f"cannot load model {source!r} (not a named model: {names}): "
            f"{e.__class__.__name__}: {first}"
        ) from None
    return backbone, tokenizer


def _resolve_source(name: str) -> tuple[str, dict, bool]:
    """Local folder (or Hub id) for ``name``, the defaults that come with it, and whether to
    read it from the local Hugging Face cache only."""
    named = registry.resolve_named(name)
    if named is not None:
        folder = registry.locate(name)
        defaults = _sentence_transformers_settings(folder)
        defaults["pooling"] = named.pooling
        return str(folder), defaults, False
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve()), _sentence_transformers_settings(path), False
    if path.exists():
        raise EmbedtuneError(f"model path {name!r} is a file; give the model's folder")
    if looks_like_path(name):
        raise EmbedtuneError(f"model path {name!r} does not exist")
    local_only = check_hub(name, ", ".join(registry.NAMED_MODELS))
    return name, {}, local_only


def load_parts(
    name: str,
    dtype: str = "fp32",
    device: str | torch.device = "cpu",
    attn_implementation: str | None = None,
    trust_remote_code: bool | None = None,
    **overrides,
) -> Parts:
    """(backbone, tokenizer, settings, device) of a named model, a run folder, a folder
    (embedtune, sentence-transformers or plain transformers) or a Hub id; ``device`` 'auto'
    picks a GPU when there is one. ``trust_remote_code`` None: what the saved model says (off
    for anything else)."""
    known = {f.name for f in fields(EmbedderConfig)} - {
        "base_model",
        "adapter",
        "trust_remote_code",
        "matryoshka_dims",  # a property of the trained weights, not a setting to override
        "rotation",  # likewise: saved with the weights (rotation.npy)
    }
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown Embedder option(s) {unknown}; known: {sorted(known)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    check_dtype(dtype)
    device = devices.local_device(device) if isinstance(device, str) else device
    folder = Path(name).expanduser()
    if folder.is_dir():
        folder = resolve_run_folder(folder)
    if (folder / CONFIG_FILE).is_file():
        saved = EmbedderConfig.read(folder)
        if trust_remote_code is not None:
            saved.trust_remote_code = trust_remote_code
        if saved.adapter:
            return _load_adapter(folder, saved, dtype, device, overrides, attn_implementation)
        settings = {f.name: getattr(saved, f.name) for f in fields(EmbedderConfig)}
        settings.update(overrides)
        backbone, tokenizer = _load_backbone(
            str(folder.resolve()), torch_dtype(dtype), attn_implementation, saved.trust_remote_code
        )
        return backbone, tokenizer, EmbedderConfig(**settings), device

    source, defaults, local_only = _resolve_source(name)
    trust = bool(trust_remote_code)
    backbone, tokenizer = _load_backbone(
        source, torch_dtype(dtype), attn_implementation, trust, local_only
    )
    settings = {"pooling": "last_token" if _is_decoder(backbone.config) else "mean"}
    settings.update(defaults)
    settings.update(overrides)
    settings["base_model"] = name if registry.resolve_named(name) else source
    settings["trust_remote_code"] = trust
    return backbone, tokenizer, EmbedderConfig(**settings), device


def _load_adapter(
    folder: Path,
    saved: EmbedderConfig,
    dtype: str,
    device: str,
    overrides: dict,
    attn_implementation: str | None = None,
) -> Parts:
    """A LoRA adapter folder: load its base model, then the adapter on top."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    if not saved.base_model:
        raise ConfigError(
            f"{folder / CONFIG_FILE}: `base_model` is required when `adapter` is true"
        )
    source, _, local_only = _resolve_source(saved.base_model)
    base, _ = _load_backbone(
        source, torch_dtype(dtype), attn_implementation, saved.trust_remote_code, local_only
    )
    backbone = PeftModel.from_pretrained(base, folder / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=saved.trust_remote_code)
    settings = {f.name: getattr(saved, f.name) for f in fields(EmbedderConfig)}
    settings.update(overrides)
    return backbone, tokenizer, EmbedderConfig(**settings), device
