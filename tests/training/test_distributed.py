"""Two gloo processes must compute what one process computes on the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from embedtune.data.triplets import read_triplets
from embedtune.training.trainer import Trainer
from tests.conftest import tiny_config

WORKER = Path(__file__).with_name("dist_worker.py")


def _worker_env() -> dict:
    """The workers import tests.* from the repository root, and embedtune from wherever this
    process found it (an install, or a PYTHONPATH such as the GPU machine's src/)."""
    path = [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, path))}


def _torchrun(args, **kw):
    env = _worker_env()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        *args,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize(
    "hard, mini, dims", [(True, 0, None), (False, 0, None), (True, 3, None), (True, 0, [32, 8])]
)
def test_two_processes_equal_one_process_on_the_global_batch(
    tiny_decoder, triplet_file, tmp_path, hard, mini, dims
):
    """... with and without hard negatives, with GradCache (mini-batches of 3 texts) on the
    two processes against the plain loss on one, and with a Matryoshka loss."""
    out = tmp_path / "grads.pt"
    args = [str(WORKER), str(tiny_decoder), str(triplet_file), str(out), "1" if hard else "0"]
    r = _torchrun(args + [str(mini)] + ([",".join(map(str, dims))] if dims else []))
    assert r.returncode == 0, r.stderr[-3000:]
    two = torch.load(out)
    cfg = tiny_config(
        tmp_path,
        tiny_decoder,
        "one",
        max_steps=1,
        seed=1,
        lora_dropout=0.0,
        hard_negatives=hard,
        matryoshka_dims=dims,
    )
    trainer = Trainer(cfg, read_triplets(triplet_file))
    trainer.setup()
    loss, _ = trainer.micro_batch_backward(list(range(8)), 1.0)
    one = {n: p.grad for n, p in trainer.embedder.named_parameters() if p.grad is not None}
    assert abs(two["loss"] - loss) <= 1e-5
    assert one.keys() == two["grads"].keys()
    assert max((one[k] - two["grads"][k]).abs().max().item() for k in one) <= 1e-5


def test_torchrun_training_matches_single_process_training(tiny_decoder, triplet_file, tmp_path):
    args = [
        "--model",
        str(tiny_decoder),
        "--data",
        str(triplet_file),
        "--max-steps",
        "4",
        "--batch-size",
        "8",
        "--lr",
        "5e-3",
        "--warmup-steps",
        "1",
        "--dtype",
        "fp32",
        "--eval-every",
        "0",
        "--eval-tasks",
        "",
        "--log-every",
        "1",
        "--lora-dropout",
        "0",
        "--device",
        "cpu",  # gloo, and the same arithmetic as the single-process side, on any machine
        "--max-length",
        "16",
        "--save-every",
        "2",
    ]
    r = _torchrun(["-m", "embedtune", "train", *args, "--output-dir", str(tmp_path / "two")])
    assert r.returncode == 0, r.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, "-m", "embedtune", "train", *args, "--output-dir", str(tmp_path / "one")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    a = load_file(tmp_path / "one" / "final" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "two" / "final" / "adapter" / "adapter_model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-5
    rows = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # logged once, by the main process
    # tokens count every process's texts, so the rate is the run's, not rank 0's
    alone = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert [r["tokens"] for r in rows] == [r["tokens"] for r in alone]
    # the triplet file repeats each row 4 times: batches hold duplicates, masked across processes
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == [
        "step-2",
        "step-4",
    ]


def test_two_node_rendezvous_on_one_machine(tiny_decoder, triplet_file, tmp_path):
    """Two torchrun launchers with --nnodes 2 meet on 127.0.0.1, as two machines would."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _worker_env()
    args = [
        "--model",
        str(tiny_decoder),
        "--data",
        str(triplet_file),
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--dtype",
        "fp32",
        "--eval-every",
        "0",
        "--eval-tasks",
        "",
        "--lora-dropout",
        "0",
        "--device",
        "cpu",  # gloo, and the same arithmetic as the single-process side, on any machine
        "--max-length",
        "16",
        "--output-dir",
        str(tmp_path / "nodes"),
    ]
    launchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "et",
                "-m",
                "embedtune",
                "train",
                *args,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in launchers]
    assert all(p.returncode == 0 for p in launchers), outputs[0][1][-2000:] + outputs[1][1][-2000:]
    single = subprocess.run(
        [sys.executable, "-m", "embedtune", "train", *args[:-1], str(tmp_path / "single")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-2000:]
    a = load_file(tmp_path / "single" / "final" / "adapter" / "adapter_model.safetensors")
    b = load_file(tmp_path / "nodes" / "final" / "adapter" / "adapter_model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-5
