"""The Embedder: a Hugging Face backbone + pooling + normalisation, as one ``nn.Module``.

Training calls :meth:`Embedder.forward` on tokenized batches; everything else calls
:meth:`Embedder.encode`, which sorts texts by length so batches waste no padding and
returns embeddings in the input order.

>>> emb = Embedder.load("minilm-l6")                      # doctest: +SKIP
>>> emb.encode(["A cat sits.", "A dog runs."]).shape       # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from embedtune.config import check_pack_tokens
from embedtune.data.batching import token_bounded_chunks
from embedtune.dtypes import check_dtype, torch_dtype
from embedtune.errors import ConfigError
from embedtune.models.attention import make_bidirectional
from embedtune.models.config import EmbedderConfig
from embedtune.models.packing import check_packable, pack, pays_to_pack, unpack
from embedtune.models.pooling import pool
from embedtune.models.rotation import read_rotation, save_rotation
from embedtune.models.sources import resolve_run_folder
from embedtune.models.tokenization import model_max_length, pad_token_id, token_ids

# Padded tokens per encode pass: real documents embed fastest at 1024 a pass on a 2-core
# CPU (RESULTS.md, "Encoding backends"); accelerators keep the earlier, unmeasured 4096.
DEFAULT_BATCH_TOKENS, ACCELERATOR_BATCH_TOKENS = 1024, 4096


def check_batch_tokens(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ConfigError(f"`batch_tokens` must be >= 1, got {value}")
    return value


class Embedder(nn.Module):
    # padded tokens per encode pass; None: ``batch_size`` texts whatever their length
    batch_tokens: int | None = DEFAULT_BATCH_TOKENS
    # tokens per packed row (``pack_texts``); None: padded batches
    pack_tokens: int | None = None

    def __init__(
        self, backbone: nn.Module, tokenizer, config: EmbedderConfig, compute_dtype: str = "fp32"
    ):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config
        self.compute_dtype = check_dtype(compute_dtype)
        if config.max_length is None:
            config.max_length = model_max_length(backbone, tokenizer)
        if config.append_eos is None:
            config.append_eos = (
                config.pooling == "last_token" and tokenizer.eos_token_id is not None
            )
        if config.append_eos and tokenizer.eos_token_id is None:
            raise ConfigError(
                "`append_eos` is on (last-token pooling) but the tokenizer has no EOS token; "
                "set pooling to 'mean' or give the tokenizer an eos_token"
            )
        self.pad_id = pad_token_id(tokenizer)
        base = self.base_model
        if config.attention == "bidirectional":
            make_bidirectional(base)
        takes = inspect.signature(base.forward).parameters
        self.takes_position_ids = "position_ids" in takes
        # no KV cache: packed rows are read only without one, and filling one copies keys
        # and values in every layer and recompiles compiled layers on every pass
        self.takes_use_cache = "use_cache" in takes
        # (D, D) orthogonal, applied after pooling (models/rotation.py); not a parameter
        self.register_buffer("rotation", None, persistent=False)

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def load(cls, name_or_path: str | Path, **overrides) -> Embedder:
        """Load a named offline model, an embedtune / sentence-transformers / HF folder, or
        a Hub id. Keyword overrides: pooling, prompt, query_prompt, document_prompt, normalize,
        max_length, append_eos, padding_side, attention ('bidirectional' lifts a decoder's
        causal mask), dtype ('fp32' | 'bf16'), device, attn_implementation ('eager' is
        faster than 'sdpa' for short texts on CPU), batch_tokens (padded tokens per encode
        pass), pack_tokens (encode packed rows of that many tokens: ``pack_texts``). A folder
        with ``model.onnx`` loads as an :class:`OnnxEmbedder` (ONNX Runtime)."""
        from embedtune.models.loading import load_parts
        from embedtune.models.onnx_embedder import OnnxEmbedder, is_onnx_folder

        batch_tokens = check_batch_tokens(overrides.pop("batch_tokens", None))
        pack_tokens = None
        if is_onnx_folder(name_or_path):  # `embedtune export --format onnx`
            embedder = OnnxEmbedder.load(name_or_path, **overrides)
        else:
            pack_tokens = check_pack_tokens(overrides.pop("pack_tokens", None))
            dtype = overrides.pop("dtype", "fp32")
            backbone, tokenizer, config, device = load_parts(str(name_or_path), dtype, **overrides)
            embedder = cls(backbone, tokenizer, config, dtype)
            if config.rotation is not None:
                folder = resolve_run_folder(Path(name_or_path).expanduser())
                embedder.rotate(read_rotation(folder, embedder.dim), config.rotation)
            embedder.to(device)
        if batch_tokens is not None or embedder.device.type != "cpu":
            embedder.batch_tokens = batch_tokens or ACCELERATOR_BATCH_TOKENS
        if pack_tokens:
            embedder.pack_texts(pack_tokens)
        return embedder

    def save(self, folder: str | Path) -> Path:
        """Write weights (or only the LoRA adapter), tokenizer and embedding settings."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.config.adapter:
            self.backbone.save_pretrained(folder / "adapter")
        else:
            self.backbone.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        self.config.save(folder)
        if self.rotation is not None:
            save_rotation(folder, self.rotation.cpu().numpy())
        return folder

    def rotate(self, matrix: np.ndarray, fitted_on: str) -> None:
        """From now on embed ``x @ matrix.T`` (an orthogonal ``matrix`` from
        ``fit_rotation``, fitted on this embedder's current output). A second rotation
        composes with the first; ``fitted_on`` is saved as the config's ``rotation``."""
        r = torch.as_tensor(matrix, dtype=torch.float32, device=self.device)
        self.rotation = r if self.rotation is None else r @ self.rotation
        self.config.rotation = fitted_on

    @contextmanager
    def unrotated(self):
        """Embed without the rotation inside the block (the corpus cache keeps such vectors)."""
        rotation, self.rotation = self.rotation, None
        try:
            yield
        finally:
            self.rotation = rotation

    @property
    def base_model(self) -> nn.Module:
        """The transformers model, inside the peft wrapper when a LoRA adapter is on."""
        b = self.backbone
        return b.get_base_model() if hasattr(b, "get_base_model") else b

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    @property
    def dim(self) -> int:
        return int(self.backbone.config.hidden_size)

    # -- tokenization -------------------------------------------------------------------
    def token_ids(
        self, texts: Sequence[str], max_length: int | None = None, role: str | None = None
    ) -> list[list[int]]:
        """Token ids after the prompt of ``role``, truncated, EOS last (models/tokenization.py)."""
        return token_ids(self.tokenizer, self.config, texts, max_length, role)

    def pack_texts(self, row_tokens: int | None) -> None:
        """Collate texts end to end in rows of about ``row_tokens`` tokens from now on (no
        padding computed; models/packing.py), after proving this model keeps packed texts
        apart; None: back to padded batches. The embeddings are the padded ones'."""
        if row_tokens is not None:
            check_packable(self)
        self.pack_tokens = row_tokens

    def collate(self, ids: Sequence[Sequence[int]], packed: bool = True) -> dict[str, torch.Tensor]:
        """Pad to the longest sequence on the configured side; position ids follow the mask
        so left padding does not shift positions. Packed rows instead after ``pack_texts``,
        unless ``packed`` is False."""
        if self.pack_tokens is not None and packed:
            return pack(ids, self.pack_tokens, self.pad_id)
        longest = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), longest), dtype=torch.long)
        for i, x in enumerate(ids):
            if self.config.padding_side == "right":
                input_ids[i, : len(x)] = torch.as_tensor(x)
                mask[i, : len(x)] = 1
            else:
                input_ids[i, longest - len(x) :] = torch.as_tensor(x)
                mask[i, longest - len(x) :] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if self.takes_position_ids:
            batch["position_ids"] = (mask.cumsum(1) - 1).clamp(min=0)
        return batch

    # -- embedding ----------------------------------------------------------------------
    def autocast(self):
        if self.compute_dtype == "fp32":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=torch_dtype(self.compute_dtype))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, L) token batch -> (B, D) float32 sentence embeddings (with grad)."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        inputs = {k: v for k, v in batch.items() if k not in ("text_index", "text_mask")}
        inputs |= {"use_cache": False} if self.takes_use_cache else {}
        with self.autocast():
            hidden = self.backbone(**inputs).last_hidden_state  # (B, L, D) or packed (R, L, D)
        mask = batch.get("attention_mask")
        if "text_index" in batch:  # packed rows -> (B, M, D) states, (B, M) mask
            hidden, mask = unpack(hidden, batch), batch["text_mask"]
        emb = pool(hidden, mask, self.config.pooling).float()  # (B, D)
        if self.rotation is not None:
            emb = emb @ self.rotation.T
        return F.normalize(emb, dim=-1) if self.config.normalize else emb

    @torch.inference_mode()
    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        show_progress: bool | None = None,
        convert_to_numpy: bool = True,
        chunk_size: int = 16384,
        role: str | None = None,
        batch_tokens: int | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Embed ``texts`` (in order) with the prompt of ``role`` ("query", "document";
        None: the plain ``prompt``). Returns (N, D) float32.

        Texts are taken ``chunk_size`` at a time, tokenized, sorted by length (so batches
        waste no padding) and embedded into a preallocated output, so memory beyond the
        output array stays flat however many texts come in. A pass holds at most
        ``batch_size`` texts and ``batch_tokens`` padded tokens (None: the embedder's
        ``batch_tokens``), so long texts go in smaller passes, which run faster per token.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not one string")
        if batch_size < 1:
            raise ConfigError(f"`batch_size` must be >= 1, got {batch_size}")
        batch_tokens = self.batch_tokens if batch_tokens is None else batch_tokens
        check_batch_tokens(batch_tokens)
        out = torch.empty((len(texts), self.dim), dtype=torch.float32)
        if show_progress is None:
            show_progress = len(texts) >= 2000
        bar = tqdm(
            total=len(texts),
            desc="encode",
            unit="text",
            disable=not show_progress,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
        )
        was_training = self.training
        self.eval()
        try:
            packing = self.pack_tokens is not None  # passes bounded by real tokens
            for base in range(0, len(texts), chunk_size):
                ids = self.token_ids(texts[base : base + chunk_size], role=role)
                lengths = [len(x) for x in ids]
                for chunk in token_bounded_chunks(lengths, batch_size, batch_tokens, packing):
                    rows, pass_ids = [base + i for i in chunk], [ids[i] for i in chunk]
                    packed = packing and pays_to_pack([lengths[i] for i in chunk])
                    out[rows] = self.forward(self.collate(pass_ids, packed)).cpu()
                    bar.update(len(chunk))
        finally:
            self.train(was_training)
            bar.close()
        return out.numpy() if convert_to_numpy else out
