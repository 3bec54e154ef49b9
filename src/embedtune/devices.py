"""Which device a process computes on: one rule for the name (the config file and every
command check it before anything loads), and the device itself, made current.

Kept apart from ``parallel`` (collectives) and ``config`` (training keys) so that serving or
embedding with a model pulls in neither; torch is imported only where a device is made.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from embedtune.errors import ConfigError

if TYPE_CHECKING:
    import torch


def check_device_name(name: str) -> None:
    """Refuse a device name embedtune cannot run on, before anything loads.

    One rule for the config file and for :func:`local_device`: a typo such as ``gpu`` or
    ``cuda0`` fails here with the accepted forms, not deep inside torch after the model loaded.
    """
    if not isinstance(name, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise ConfigError(
            f"`device` must be auto, cpu, cuda or cuda:N (only cpu and cuda are supported), got {name!r}"
        )


def local_device(requested: str = "auto") -> torch.device:
    """The device this process computes on, made current.

    ``auto`` is a GPU when CUDA is available, else the CPU. A GPU without an index means this
    process's own one (LOCAL_RANK), so N processes on one machine use N GPUs instead of all
    crowding onto GPU 0.

    On a GPU this also turns cuDNN's attention off for the process (torch then picks
    FlashAttention or memory-efficient attention): cuDNN builds a graph for every new
    sequence length, and batches of real texts bring a new length nearly every step. On an
    H200, gemma3-270m LoRA steps of 60 NLI triplets took 433 ms (median) with it and 253 ms
    without, and 3-5 s stalls at new lengths went away (benchmarks/RESULTS.md, "GPU").
    """
    import torch

    check_device_name(requested)
    name = "cuda" if requested == "auto" and torch.cuda.is_available() else requested
    device = torch.device("cpu" if name == "auto" else name)
    if device.type == "cpu":
        return device
    if not torch.cuda.is_available():
        raise ConfigError(
            f"`device` {requested!r}: this torch ({torch.__version__}) sees no CUDA GPU; use --device cpu"
        )
    if device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.index >= torch.cuda.device_count():
        raise ConfigError(f"`device` {device}: only {torch.cuda.device_count()} GPU(s) are visible")
    torch.cuda.set_device(device)
    torch.backends.cuda.enable_cudnn_sdp(False)
    return device
