"""Regional compilation: ``torch.compile`` each transformer layer, not the whole model.

On a CPU, about a third of a training step is element-wise work between the matmuls
(gemma's float32 RMSNorms, GELU, residual adds, the copies between them); inductor fuses it
into a few kernels. Compiling the whole backbone costs minutes before the first step (202 s
for gemma3-270m on a 2-core CPU), which a run of a few hundred steps does not win back.
Every layer of a transformer runs the same code, so compiling the layers one by one lets
them share one compiled graph (two: the first layer's input needs no gradient): the first
run compiles in under a minute and later runs load the kernels from inductor's on-disk
cache in seconds. ``dynamic=True`` keeps the number of graphs small whatever the batch
shapes (padded or packed, any length).
"""

from __future__ import annotations

import os
import shutil

from torch import nn

from embedtune.errors import ConfigError


def layer_stack(model: nn.Module) -> nn.ModuleList:
    """The model's repeated blocks: the ``ModuleList`` of one class holding the most weights
    (``model.layers`` of a Llama or Gemma, ``encoder.layer`` of a BERT)."""
    best, best_size = None, 0
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len({type(m) for m in module}) == 1:
            size = sum(p.numel() for p in module.parameters())
            if size > best_size:
                best, best_size = module, size
    if best is None:
        raise ConfigError(
            f"`compile`: found no stack of transformer layers in {type(model).__name__}; "
            "leave compile off"
        )
    return best


def check_compiler(device_type: str) -> None:
    """On CPU, inductor builds its kernels with a C++ compiler; without one the first step
    would fail deep inside it, so say so before any work."""
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    if device_type == "cpu" and not any(n and shutil.which(n) for n in names):
        raise ConfigError(
            "`compile`: compiling on CPU needs a C++ compiler (g++ or clang++, or $CXX) and "
            "none was found; install one or set compile: false (--no-compile)"
        )


def compile_layers(model: nn.Module) -> int:
    """Compile each layer of ``model`` in place (its weights, state dict and saved files stay
    as they are); returns how many."""
    check_compiler(next(model.parameters()).device.type)
    layers = layer_stack(model)
    for layer in layers:
        layer.compile(dynamic=True)
    return len(layers)
