"""The two compute precisions, named once: every command, the config and the Embedder check a
dtype here, so all of them accept the same names and refuse others with the same message.

>>> check_dtype("fp16")
Traceback (most recent call last):
embedtune.errors.ConfigError: `dtype` must be 'bf16' or 'fp32', got 'fp16'
"""

from __future__ import annotations

from embedtune.errors import ConfigError

DTYPE_NAMES = ("bf16", "fp32")


def check_dtype(name: str, key: str = "dtype") -> str:
    if name not in DTYPE_NAMES:
        raise ConfigError(f"`{key}` must be 'bf16' or 'fp32', got {name!r}")
    return name


def torch_dtype(name: str):
    """The torch dtype of a checked name (torch is imported here, not by the CLI's parser)."""
    import torch

    return {"bf16": torch.bfloat16, "fp32": torch.float32}[check_dtype(name)]
