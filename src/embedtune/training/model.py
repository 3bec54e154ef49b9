"""The model a run trains: the backbone loaded for training, then made trainable (a LoRA
adapter, or every weight; gradient checkpointing when asked)."""

from __future__ import annotations

import torch

from embedtune.config import TrainConfig
from embedtune.losses import InfoNCELoss, MatryoshkaLoss
from embedtune.losses.matryoshka import check_dims
from embedtune.models import Embedder
from embedtune.models.compiling import compile_layers
from embedtune.models.lora import apply_lora, check_targets


def weight_dtype(cfg: TrainConfig) -> str:
    """Base weights in bf16 under LoRA (they are frozen), fp32 for full fine-tuning (they
    are the master weights; compute still autocasts)."""
    return cfg.dtype if cfg.lora else "fp32"


def build_embedder(cfg: TrainConfig, device: torch.device | str = "cpu") -> Embedder:
    """The backbone for training, in :func:`weight_dtype`, computing in ``cfg.dtype``."""
    embedder = Embedder.load(
        cfg.model,
        pooling=cfg.pooling,
        prompt=cfg.prompt,
        query_prompt=cfg.query_prompt,
        document_prompt=cfg.document_prompt,
        attention=cfg.attention,
        dtype=weight_dtype(cfg),
        device=device,
        attn_implementation=cfg.attn_implementation,
        trust_remote_code=cfg.trust_remote_code,
    )
    embedder.compute_dtype = cfg.dtype
    return embedder


def make_trainable(embedder: Embedder, cfg: TrainConfig) -> list[torch.nn.Parameter]:
    """LoRA (seeded, so its init does not depend on what ran before) or full fine-tuning,
    gradient checkpointing and compiled layers if asked (after LoRA, which replaces modules
    inside the layers); returns the parameters the optimizer updates."""
    torch.manual_seed(cfg.seed)
    if not cfg.lora and embedder.config.adapter:  # a trained adapter run, now fully trained
        embedder.backbone = embedder.backbone.merge_and_unload().requires_grad_(True)
        embedder.config.adapter = False
    if cfg.lora:
        apply_lora(embedder, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target_modules)
    if cfg.gradient_checkpointing:
        embedder.backbone.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False}
        )
        if cfg.lora:
            embedder.backbone.enable_input_require_grads()
    if cfg.compile:
        compile_layers(embedder.base_model)
    return [p for p in embedder.parameters() if p.requires_grad]


def optimizer_for(params: list[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, fused: one kernel for all parameters (a full fine-tune of minilm-l6 spends a
    visible part of each step in the per-tensor optimizer otherwise)."""
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def loss_for(cfg: TrainConfig) -> torch.nn.Module:
    """InfoNCE (Eq. 3, or Eq. 2 without hard negatives), on nested prefixes when Matryoshka
    dims are set."""
    loss = InfoNCELoss(cfg.temperature, cfg.hard_negatives)
    if cfg.matryoshka_dims:
        loss = MatryoshkaLoss(loss, cfg.matryoshka_dims, cfg.matryoshka_weights)
    return loss


def check_model(embedder: Embedder, cfg: TrainConfig) -> None:
    """The checks that need the loaded model: LoRA's target modules exist, the Matryoshka
    dims fit its size (and are recorded in its settings, saved with it: those prefixes were
    trained to work on their own)."""
    if cfg.lora:
        check_targets(embedder.backbone, cfg.lora_target_modules)
    if cfg.matryoshka_dims:
        check_dims(cfg.matryoshka_dims, cfg.matryoshka_weights, embedder.dim)
        embedder.config.matryoshka_dims = list(cfg.matryoshka_dims)
