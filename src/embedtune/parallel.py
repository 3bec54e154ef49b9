"""Multi-process helpers over torch.distributed (launched by torchrun or accelerate launch).

Imported by training (gradients, gathered negatives) and evaluation (sharded encoding).
Which device a process computes on is ``devices.py``'s business.

A single-process run never initialises or calls torch.distributed: every helper checks
``world_size() > 1`` first (the study's own code crashed by gathering without a process
group). Both launchers set RANK / WORLD_SIZE / MASTER_ADDR, which is all we need.

Gradient correctness: ``gather_with_grad`` is an all-gather whose backward sums every rank's
gradient for the gathered rows into the rank that owns them. With every rank's loss a mean
over its own anchors and gradients averaged across ranks afterwards, P processes with batch B
compute the gradient of one process with batch P*B.
"""

from __future__ import annotations

import logging
import os
import sys

import torch
import torch.distributed as dist

_joined = False  # this process joined a process group (init_from_env), even if it has left it


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(device: torch.device | None = None) -> bool:
    """Join the process group the launcher describes (nccl when ``device`` is a GPU, else
    gloo); False (and no call) when alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (
        dist.is_available() and dist.is_initialized()
    ):
        return world_size() > 1
    global _joined
    on_gpu = device is not None and device.type == "cuda"
    dist.init_process_group("nccl" if on_gpu else "gloo", device_id=device if on_gpu else None)
    _joined = True
    return True


def _wire() -> torch.device:
    """Where tensors must be for the process group's backend: nccl sends GPU tensors only."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


class _GatherWithGrad(torch.autograd.Function):
    """All-gather whose backward hands each rank the summed gradient of its own rows.

    Every rank's loss reads every gathered row, so the gradient of rank r's rows is the sum
    of all ranks' gradients for them: an all-reduce, then rank r keeps its slice. (torch's
    ``torch.distributed.nn.functional.all_gather`` does the same but is deprecated.)
    """

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(t) for _ in range(world_size())]
        dist.all_gather(parts, t)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        rows = grad.shape[0] // world_size()
        return grad[rank() * rows : (rank() + 1) * rows]


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """(B, D) on each of P ranks (same B everywhere) -> (P*B, D) on every rank, gradients
    flowing back to the rank that owns each row."""
    if world_size() == 1:
        return t
    return _GatherWithGrad.apply(t.contiguous())


def all_gather(t: torch.Tensor) -> torch.Tensor:
    """(B, ...) on each of P ranks -> (P*B, ...) on every rank, without gradients (keys,
    counts); rows stay on ``t``'s device."""
    if world_size() == 1:
        return t
    wire = t.to(_wire()).contiguous()
    parts = [torch.empty_like(wire) for _ in range(world_size())]
    dist.all_gather(parts, wire)
    return torch.cat(parts).to(t.device)


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Average ``.grad`` across ranks in place (one flat all-reduce)."""
    if world_size() == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def all_reduce_sum(value: float) -> float:
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_wire())
    dist.all_reduce(t)
    return float(t.item())


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def gather_rows(local: torch.Tensor, total: int) -> torch.Tensor:
    """Rows computed in shards (rank r holds rows r, r+P, r+2P, ...) -> all ``total`` rows
    in order, on every rank. Used by distributed evaluation."""
    if world_size() == 1:
        return local
    p = world_size()
    per_rank = -(-total // p)
    padded = torch.zeros((per_rank, local.shape[1]), dtype=local.dtype, device=_wire())
    padded[: len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(p)]
    dist.all_gather(parts, padded)
    out = torch.empty((total, local.shape[1]), dtype=local.dtype, device=local.device)
    for r, part in enumerate(parts):
        rows = list(range(r, total, p))
        out[rows] = part[: len(rows)].to(local.device)
    return out


def shutdown() -> None:
    """Leave the process group cleanly (a process that exits inside it can abort)."""
    if world_size() > 1:
        dist.barrier()
        dist.destroy_process_group()


def end_process(code: int) -> None:
    """End a process that joined a process group with ``os._exit(code)``, after flushing
    what it printed and logged; return (and do nothing) in a process that never joined one.

    Why not a normal exit: gloo's worker threads free the work objects of the last
    collectives (a barrier keeps the earlier all-reduces' tensors alive) a moment *after*
    the collective has returned to Python. Under CPU load that moment can fall inside
    interpreter finalization; the thread's decref of a Python-owned tensor then tries to
    take the GIL, is made to exit, and std::terminate aborts a process whose work was all
    done ("terminate called without an active exception", SIGABRT, a failed torchrun).
    ``shutdown`` cannot wait for those threads: gloo's ``shutdown`` does not join them.
    ``os._exit`` skips finalization, so every file this process writes must already be
    closed (the trainer closes its logs before it returns).
    """
    if not _joined:
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
