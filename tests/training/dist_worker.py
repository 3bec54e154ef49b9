"""Run under torchrun by test_distributed.py: one process's share of a global batch."""

import sys
from pathlib import Path

import torch

from embedtune import parallel
from embedtune.data.triplets import read_triplets
from embedtune.training.trainer import Trainer
from tests.conftest import tiny_config

model, data, out, hard = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
mini = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "0" else None  # GradCache
dims = [int(d) for d in sys.argv[6].split(",")] if len(sys.argv) > 6 else None  # Matryoshka
# the same config as the single-process side of the test
cfg = tiny_config(
    Path(out).parent,
    model,
    Path(out).name + "-run",
    max_steps=1,
    seed=1,
    lora_dropout=0.0,
    hard_negatives=hard,
    mini_batch_size=mini,
    matryoshka_dims=dims,
)
trainer = Trainer(cfg, read_triplets(data))
trainer.setup()
assert parallel.world_size() == 2
share = 8 // parallel.world_size()
mine = list(range(8))[parallel.rank() * share : (parallel.rank() + 1) * share]
loss, _ = trainer.micro_batch_backward(mine, 1.0)
parallel.average_gradients(trainer.params)
if parallel.is_main():
    grads = {n: p.grad for n, p in trainer.embedder.named_parameters() if p.grad is not None}
    torch.save({"loss": loss, "grads": grads}, out)
# the way `embedtune train` ends a torchrun worker (a plain exit can abort: see end_process)
parallel.shutdown()
parallel.end_process(0)
raise AssertionError("end_process returned in a process that joined a group")
