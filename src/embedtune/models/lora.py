"""LoRA through peft, with the study's defaults and a table of target modules per architecture.

The study adapts the attention query and value projections (r 8, alpha 32, dropout 0.1,
gaussian init). Architectures name those layers differently; unknown ones fall back to
peft's own table.
"""

from __future__ import annotations

from torch import nn

from embedtune.errors import ConfigError

# model_type -> the query/value projections
TARGET_MODULES: dict[str, list[str]] = {
    **dict.fromkeys(
        [
            "gemma",
            "gemma2",
            "gemma3",
            "gemma3_text",
            "llama",
            "mistral",
            "qwen2",
            "qwen3",
            "phi",
            "minicpm",
            "olmo",
            "olmo2",
            "smollm3",
            "granite",
        ],
        ["q_proj", "v_proj"],
    ),
    "phi3": ["qkv_proj"],
    **dict.fromkeys(
        ["bert", "roberta", "xlm-roberta", "electra", "modernbert"], ["query", "value"]
    ),
    "mpnet": ["q", "v"],
    "gpt2": ["c_attn"],
    "gpt_neox": ["query_key_value"],
}


def default_target_modules(model_type: str) -> list[str] | None:
    """The q/v projection names for ``model_type``; None lets peft pick."""
    return TARGET_MODULES.get(model_type)


def check_targets(backbone: nn.Module, target_modules: list[str] | None = None) -> None:
    """Fail before any work when no module of ``backbone`` matches the LoRA targets (peft
    matches a target by the last part of a module's name); None lets peft pick."""
    targets = target_modules or default_target_modules(backbone.config.model_type)
    if not targets:
        return
    names = {name.rsplit(".", 1)[-1] for name, _ in backbone.named_modules()}
    if not names & set(targets):
        raise ConfigError(
            f"`lora_target_modules` {targets} match no module of model type "
            f"{backbone.config.model_type!r}; its linear layers include "
            f"{sorted({n.rsplit('.', 1)[-1] for n, m in backbone.named_modules() if isinstance(m, nn.Linear)})}"
        )


def apply_lora(
    embedder,
    r: int = 8,
    alpha: int = 32,
    dropout: float = 0.1,
    target_modules: list[str] | None = None,
) -> None:
    """Wrap ``embedder.backbone`` in a peft LoRA model in place; only LoRA weights train.
    A backbone that already carries an adapter (a trained run as the starting model) has
    that adapter trained further instead (:func:`continue_lora`)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    model_type = embedder.backbone.config.model_type
    targets = target_modules or default_target_modules(model_type)
    if isinstance(embedder.backbone, PeftModel):
        continue_lora(embedder.backbone, r, alpha, dropout, targets)
        return
    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        init_lora_weights="gaussian",
        bias="none",
    )
    try:
        embedder.backbone = get_peft_model(embedder.backbone, config)
    except ValueError as e:
        raise ConfigError(
            f"cannot place LoRA on model type {model_type!r} ({e}); set `lora_target_modules`"
        ) from None
    embedder.config.adapter = True
    _speed_up(embedder.backbone)


def continue_lora(backbone, r: int, alpha: int, dropout: float, targets: list[str] | None) -> None:
    """Make the loaded adapter of a trained run trainable again, with ``dropout``.

    Why not a second adapter on top: peft nests the two models, and the folder saved at the
    end holds keys that do not load back onto the base model, so the run's result would be
    silently another model. Continuing the one adapter keeps the saved folder what was
    trained (base model + this adapter). Its rank, alpha and targets are fixed by its weights,
    so settings that differ are an error rather than quietly ignored.
    """
    from peft.tuners.lora import LoraLayer

    saved = backbone.peft_config["default"]
    have = {
        "lora_r": saved.r,
        "lora_alpha": saved.lora_alpha,
        "lora_target_modules": sorted(saved.target_modules or []),
    }
    want = {"lora_r": r, "lora_alpha": alpha, "lora_target_modules": sorted(targets or [])}
    if targets is None:  # peft picked the targets, both times
        del have["lora_target_modules"], want["lora_target_modules"]
    differ = [f"`{k}` {want[k]} (the adapter has {have[k]})" for k in have if want[k] != have[k]]
    if differ:
        raise ConfigError(
            "the starting model is a trained LoRA adapter, which training continues, so its "
            f"shape cannot change: {'; '.join(differ)}. Set them to the adapter's values, or "
            "start from its base model"
        )
    saved.inference_mode = False
    saved.lora_dropout = dropout
    for name, param in backbone.named_parameters():
        param.requires_grad_("lora_" in name)
    for module in backbone.modules():
        if isinstance(module, LoraLayer):
            module.lora_dropout["default"] = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
    _speed_up(backbone)


def _speed_up(model) -> None:
    """Two changes to peft's LoRA layers that keep the maths and save time on CPU:

    - dropout draws its mask with a quarter of the random numbers (``FastDropout``); its
      masks were 15 % of a training step in a profile (benchmarks/mfu_profile.py);
    - the layer input is no longer cast to the adapter's float32 before dropout: under bf16
      autocast the LoRA matmuls run in bf16 anyway, so the cast only made two copies of
      every q/v input (small next to the model's own float32 norms, but free to drop).
      With float32 weights the input is float32 already.
    """
    from peft.tuners.lora import LoraLayer

    from embedtune.models.dropout import FastDropout

    for module in model.modules():
        if not isinstance(module, LoraLayer):
            continue
        module.cast_input_dtype_enabled = False
        for name, drop in module.lora_dropout.items():
            if isinstance(drop, nn.Dropout) and drop.p > 0:
                module.lora_dropout[name] = FastDropout(drop.p)
