"""An Embedder whose maths runs in ONNX Runtime: a folder written by ``embedtune export
--format onnx`` (``model.onnx`` + tokenizer + ``embedtune.json``).

It is an :class:`Embedder` in everything but the forward pass, so tokenization, prompts,
truncation, the appended EOS, length-sorted batching and every command that takes a model
(``embed``, ``evaluate``, ``serve``, ``mine``) behave exactly as with PyTorch weights. What the
graph fixed at export (pooling, normalisation, attention mask kind) cannot be overridden.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from embedtune.errors import ConfigError, EmbedtuneError
from embedtune.log import log
from embedtune.models.config import EmbedderConfig
from embedtune.models.embedder import Embedder
from embedtune.models.tokenization import pad_token_id

ONNX_FILE = "model.onnx"
_BAKED = ("pooling", "attention", "normalize")  # in the graph; fixed at export
_TOKENIZATION = (
    "prompt",
    "query_prompt",
    "document_prompt",
    "max_length",
    "padding_side",
    "append_eos",
)


def require_onnx(module: str):
    """``module`` (onnx, onnxruntime), or a ConfigError that says how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"ONNX models need `{module}`: pip install 'embedtune[onnx]'") from None


def is_onnx_folder(path: str | Path) -> bool:
    return (Path(path).expanduser() / ONNX_FILE).is_file()


class OnnxEmbedder(Embedder):
    def __init__(self, session, tokenizer, config: EmbedderConfig):
        nn.Module.__init__(self)  # no backbone: Embedder's own setup reads one
        self.session, self.tokenizer, self.config = session, tokenizer, config
        self.compute_dtype = "fp32"
        self.input_names = [i.name for i in session.get_inputs()]
        self.takes_position_ids = "position_ids" in self.input_names
        self.pad_id = pad_token_id(tokenizer)
        # the graph's output width is symbolic after tracing: embed one token to read it
        self._dim = int(self.forward(self.collate([[self.pad_id]])).shape[1])

    @classmethod
    def load(cls, folder: str | Path, **overrides) -> OnnxEmbedder:
        """Load an exported folder. Overrides: the tokenization settings (prompts,
        max_length, padding_side); ``dtype`` and ``device`` 'auto'/'cpu' are accepted and
        mean float32 on CPU; what the graph fixed must match the saved value."""
        from transformers import AutoTokenizer

        ort = require_onnx("onnxruntime")

        folder = Path(folder).expanduser()
        saved = EmbedderConfig.read(folder)
        device = str(overrides.pop("device", None) or "cpu")
        if device not in ("auto", "cpu"):
            raise ConfigError(f"{folder}: an ONNX model runs on CPU here, not on {device!r}")
        if overrides.pop("dtype", "fp32") != "fp32":
            log.info("%s: an ONNX model computes in float32 (its weights' precision)", folder)
        overrides = {k: v for k, v in overrides.items() if v is not None}
        for key in ("attn_implementation", "trust_remote_code"):
            if overrides.pop(key, None):
                raise ConfigError(f"{folder}: `{key}` does not apply to an ONNX model")
        for key in _BAKED:
            if key in overrides and overrides[key] != getattr(saved, key):
                raise ConfigError(
                    f"{folder}: `{key}` is fixed in the ONNX graph ({getattr(saved, key)!r}); "
                    f"export again from the trained model to change it"
                )
        unknown = sorted(set(overrides) - set(_BAKED) - set(_TOKENIZATION))
        if unknown:
            raise ConfigError(f"unknown option(s) for an ONNX model: {unknown}")
        settings = {**saved.__dict__, **overrides}
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # what torch would use
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own Fail / InvalidGraph types
            raise EmbedtuneError(
                f"{folder / ONNX_FILE}: ONNX Runtime cannot load it ({e})"
            ) from None
        tokenizer = AutoTokenizer.from_pretrained(folder)
        return cls(session, tokenizer, EmbedderConfig(**settings))

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dim(self) -> int:
        return self._dim

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        feed = {name: np.ascontiguousarray(batch[name].numpy()) for name in self.input_names}
        return torch.from_numpy(self.session.run(None, feed)[0])

    def save(self, folder: str | Path) -> Path:
        raise EmbedtuneError("an ONNX model is saved by `embedtune export --format onnx`")
