"""embedtune vs sentence-transformers on the same work: training and encoding throughput.

Same model, same LoRA (decoder: r 8, alpha 32, dropout 0.1 on q_proj/v_proj; the encoder is
fully fine-tuned in both), same loss (in-batch + hard negatives at temperature 0.05, which is
MultipleNegativesRankingLoss with scale 20 and the negative as a third column), same batch
(16 triplets), same max length (128), same precision (bf16 autocast), same real triplets,
same steps and learning-rate schedule. Each run is a fresh Python process (so peak RSS is its
own and no allocator state leaks between them), and the two tools alternate A B A B.

Reported per run: triplets/s and tokens/s over the steps after the warm-up, peak RSS, the
mean loss of the last steps and (full mode) STS-B dev Spearman of the trained model. Then
encoding: ``Embedder.encode`` vs ``SentenceTransformer.encode`` on STS sentences, bf16
weights in both, same batch size.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/compare_sentence_transformers.py --quick
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/compare_sentence_transformers.py --pairs 5

The last line printed is ``train_ratio=X encode_ratio=Y`` (embedtune / sentence-transformers,
median over pairs, for the first model).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {
    # name: (is_decoder, pooling)
    "gemma3-270m": (True, "last_token"),
    "minilm-l6": (False, "mean"),
}
ST_POOLING = {"last_token": "lasttoken", "mean": "mean"}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bench_triplets(data_dir: Path, n: int, seed: int):
    """The same ``n`` real triplets for both tools: a seeded sample of the NLI file."""
    from embedtune.data.triplets import read_triplets

    return read_triplets(data_dir / "nli" / "triplets.tsv").sample(n, seed)


def stsb_dev(data_dir: Path):
    from embedtune.data.sts import load_task

    return load_task("stsb-dev", data_dir)


class _STEncoder:
    """Lets embedtune's evaluator score a SentenceTransformer (same code path, same metric)."""

    def __init__(self, model):
        self.model = model

    def encode(self, sentences, batch_size=32, show_progress=None, convert_to_numpy=True):
        return self.model.encode(
            sentences, batch_size=batch_size, show_progress_bar=False, normalize_embeddings=True
        )


def _throughput(
    step_ends: list[float], start_time: float, warmup: int, batch: int, tokens: int, steps: int
):
    """Triplets/s and tokens/s over the steps after ``warmup`` (timestamps at step ends)."""
    t0 = step_ends[warmup - 1] if warmup else start_time
    seconds = step_ends[-1] - t0
    timed = steps - warmup
    return timed * batch / seconds, tokens * timed / steps / seconds, seconds


# -- workers (each in its own process) ------------------------------------------------------
def train_embedtune(args) -> dict:
    import torch

    from embedtune.config import TrainConfig
    from embedtune.evaluation.sts import evaluate_sts
    from embedtune.training.trainer import Trainer

    decoder, pooling = MODELS[args.model]
    data_dir = Path(args.data_dir)
    triplets = bench_triplets(data_dir, args.steps * args.batch, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            model=args.model,
            pooling=pooling,
            batch_size=args.batch,
            lr=args.lr,
            warmup_steps=args.warmup_lr,
            max_steps=args.steps,
            dtype=args.dtype,
            lora=decoder,
            lora_r=8,
            lora_alpha=32,
            lora_dropout=0.1,
            lora_target_modules=["q_proj", "v_proj"] if decoder else None,
            hard_negatives=True,
            max_length=args.max_length,
            temperature=0.05,
            log_every=1,
            eval_every=0,
            save_every=0,
            seed=args.seed,
            output_dir=tmp,
        )
        trainer = Trainer(cfg, triplets)
        trainer.train()
        rows = [
            json.loads(x)
            for x in (Path(tmp) / "metrics.jsonl").read_text().splitlines()
            if '"loss"' in x
        ]
        emb = trainer.embedder
        tokens = sum(
            len(x) for x in trainer.data.anchors + trainer.data.positives + trainer.data.negatives
        )
        # train_seconds is the cumulative time inside steps (logging excluded)
        ends = [r["train_seconds"] for r in rows]
        tps, tok_s, seconds = _throughput(ends, 0.0, args.warmup, args.batch, tokens, args.steps)
        dev = None
        if args.eval:
            emb.eval()
            dev = evaluate_sts(emb, [stsb_dev(data_dir)], batch_size=32)["average"]
    return {
        "tool": "embedtune",
        "triplets_per_s": tps,
        "tokens_per_s": tok_s,
        "timed_seconds": seconds,
        "final_loss": statistics.mean(r["loss"] for r in rows[-5:]),
        "stsb_dev": dev,
        "threads": torch.get_num_threads(),
    }


def train_st(args) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.models import Pooling, Transformer
    from transformers import TrainerCallback

    from embedtune.evaluation.sts import evaluate_sts
    from embedtune.models.registry import locate

    decoder, pooling = MODELS[args.model]
    data_dir = Path(args.data_dir)
    triplets = bench_triplets(data_dir, args.steps * args.batch, args.seed)
    torch.manual_seed(args.seed)
    body = Transformer(str(locate(args.model)), max_seq_length=args.max_length)
    model = SentenceTransformer(
        modules=[body, Pooling(body.get_embedding_dimension(), ST_POOLING[pooling])], device="cpu"
    )
    if decoder:
        model.add_adapter(
            LoraConfig(
                r=8,
                lora_alpha=32,
                lora_dropout=0.1,
                target_modules=["q_proj", "v_proj"],
                init_lora_weights="gaussian",
            )
        )
    data = Dataset.from_dict(
        {"anchor": triplets.anchors, "positive": triplets.positives, "negative": triplets.negatives}
    )
    ends: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            ends.append(time.perf_counter())

        def on_log(self, _args, state, control, logs=None, **k):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    with tempfile.TemporaryDirectory() as tmp:
        targs = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            max_steps=args.steps,
            per_device_train_batch_size=args.batch,
            learning_rate=args.lr,
            warmup_steps=args.warmup_lr,
            lr_scheduler_type="cosine",
            bf16=args.dtype == "bf16",
            use_cpu=True,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=args.seed,
            dataloader_drop_last=True,
            disable_tqdm=True,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=targs,
            train_dataset=data,
            loss=MultipleNegativesRankingLoss(model, scale=20.0),
            callbacks=[Clock()],
        )
        start = time.perf_counter()
        trainer.train()
    tok = model.tokenizer
    tokens = sum(
        len(x)
        for col in (triplets.anchors, triplets.positives, triplets.negatives)
        for x in tok(col, truncation=True, max_length=args.max_length)["input_ids"]
    )
    tps, tok_s, seconds = _throughput(ends, start, args.warmup, args.batch, tokens, args.steps)
    dev = None
    if args.eval:
        model.eval()
        dev = evaluate_sts(_STEncoder(model), [stsb_dev(data_dir)], batch_size=32)["average"]
    return {
        "tool": "sentence-transformers",
        "triplets_per_s": tps,
        "tokens_per_s": tok_s,
        "timed_seconds": seconds,
        "final_loss": statistics.mean(losses[-5:]),
        "stsb_dev": dev,
        "threads": torch.get_num_threads(),
    }


def sts_sentences(data_dir: Path, n: int) -> list[str]:
    """The first ``n`` distinct sentences of the nine STS test sets, in task order."""
    from embedtune.evaluation.run import load_tasks
    from embedtune.evaluation.sts import distinct_sentences

    return list(distinct_sentences(load_tasks("all", data_dir)))[:n]


def encode_embedtune(args) -> dict:
    from embedtune.models.embedder import Embedder

    decoder, pooling = MODELS[args.model]
    texts = sts_sentences(Path(args.data_dir), args.encode_n)
    emb = Embedder.load(args.model, pooling=pooling, dtype=args.dtype, max_length=args.max_length)
    emb.encode(texts[: args.batch * 2], batch_size=args.encode_batch)  # warm-up
    start = time.perf_counter()
    emb.encode(texts, batch_size=args.encode_batch, show_progress=False)
    seconds = time.perf_counter() - start
    return {"tool": "embedtune", "sentences_per_s": len(texts) / seconds, "seconds": seconds}


def encode_st(args) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    from embedtune.models.registry import locate

    decoder, pooling = MODELS[args.model]
    texts = sts_sentences(Path(args.data_dir), args.encode_n)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    body = Transformer(
        str(locate(args.model)), max_seq_length=args.max_length, model_kwargs={"dtype": dtype}
    )
    model = SentenceTransformer(
        modules=[body, Pooling(body.get_embedding_dimension(), ST_POOLING[pooling])], device="cpu"
    )
    model.encode(texts[: args.batch * 2], batch_size=args.encode_batch)  # warm-up
    start = time.perf_counter()
    model.encode(texts, batch_size=args.encode_batch, show_progress_bar=False)
    seconds = time.perf_counter() - start
    return {
        "tool": "sentence-transformers",
        "sentences_per_s": len(texts) / seconds,
        "seconds": seconds,
    }


WORKERS = {
    ("train", "embedtune"): train_embedtune,
    ("train", "st"): train_st,
    ("encode", "embedtune"): encode_embedtune,
    ("encode", "st"): encode_st,
}


# -- driver ---------------------------------------------------------------------------------
def run_worker(args, job: str, tool: str, model: str, eval_dev: bool) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        f"{job}:{tool}",
        "--model",
        model,
        "--data-dir",
        str(args.data_dir),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--batch",
        str(args.batch),
        "--lr",
        str(args.lr),
        "--max-length",
        str(args.max_length),
        "--dtype",
        args.dtype,
        "--encode-n",
        str(args.encode_n),
        "--encode-batch",
        str(args.encode_batch),
        "--seed",
        str(args.seed),
    ] + (["--eval"] if eval_dev else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"{job} worker for {tool} / {model} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    return result


def _fmt(r: dict) -> str:
    keys = (
        "triplets_per_s",
        "tokens_per_s",
        "sentences_per_s",
        "peak_rss_mib",
        "final_loss",
        "stsb_dev",
    )
    return " ".join(f"{k}={r[k]:.2f}" for k in keys if r.get(k) is not None)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default="gemma3-270m,minilm-l6")
    p.add_argument("--model", default="gemma3-270m", help=argparse.SUPPRESS)  # worker
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--pairs", type=int, default=5, help="A B pairs per model")
    p.add_argument("--steps", type=int, default=30, help="optimizer steps per training run")
    p.add_argument("--warmup", type=int, default=3, help="untimed first steps")
    p.add_argument("--warmup-lr", type=int, default=5, help="learning-rate warm-up steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--encode-n", type=int, default=2000, help="STS sentences to encode")
    p.add_argument("--encode-batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-eval", action="store_true", help="skip STS-B dev after training")
    p.add_argument("--quick", action="store_true", help="2 pairs, 8 steps, 300 sentences (<10 min)")
    p.add_argument("--output", default=None, help="write all results as JSON here")
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR (the folder with nli/ and sts/)")

    if args.worker:
        job, tool = args.worker.split(":")
        result = WORKERS[(job, tool)](args)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    if args.quick:
        args.pairs, args.steps, args.warmup, args.encode_n = 2, 8, 2, 300
        args.no_eval = True
    models = args.models.split(",")
    summary: dict = {"args": vars(args), "models": {}}
    for model in models:
        print(
            f"== {model}: {args.pairs} pairs x {args.steps} steps of {args.batch} triplets",
            flush=True,
        )
        runs, train_ratios, encode_ratios = [], [], []
        for pair in range(args.pairs):
            eval_dev = not args.no_eval and pair == args.pairs - 1
            a = run_worker(args, "train", "embedtune", model, eval_dev)
            b = run_worker(args, "train", "st", model, eval_dev)
            ratio = a["triplets_per_s"] / b["triplets_per_s"]
            train_ratios.append(ratio)
            print(f"  train pair {pair + 1}: embedtune {_fmt(a)}", flush=True)
            print(f"                sentence-transformers {_fmt(b)}  ratio {ratio:.2f}", flush=True)
            a_enc = run_worker(args, "encode", "embedtune", model, False)
            b_enc = run_worker(args, "encode", "st", model, False)
            e_ratio = a_enc["sentences_per_s"] / b_enc["sentences_per_s"]
            encode_ratios.append(e_ratio)
            print(
                f"  encode pair {pair + 1}: embedtune {a_enc['sentences_per_s']:.1f}/s, "
                f"sentence-transformers {b_enc['sentences_per_s']:.1f}/s  ratio {e_ratio:.2f}",
                flush=True,
            )
            runs.append({"train": [a, b], "encode": [a_enc, b_enc]})
        summary["models"][model] = {
            "runs": runs,
            "train_ratio_median": statistics.median(train_ratios),
            "encode_ratio_median": statistics.median(encode_ratios),
            "train_ratios": train_ratios,
            "encode_ratios": encode_ratios,
        }
        losses = [statistics.median(r["train"][k]["final_loss"] for r in runs) for k in (0, 1)]
        devs = [runs[-1]["train"][k]["stsb_dev"] for k in (0, 1)]
        summary["models"][model].update(final_loss_medians=losses, stsb_dev_last_pair=devs)
        print(
            f"== {model}: median train ratio {statistics.median(train_ratios):.2f}, "
            f"median encode ratio {statistics.median(encode_ratios):.2f}; final loss (median) "
            f"embedtune {losses[0]:.3f} vs sentence-transformers {losses[1]:.3f}"
            + (
                f"; STS-B dev after {args.steps} steps {devs[0]:.2f} vs {devs[1]:.2f}"
                if None not in devs
                else ""
            ),
            flush=True,
        )
    if args.output:
        Path(args.output).write_text(json.dumps(summary, indent=2) + "\n")
    first = summary["models"][models[0]]
    print(
        f"train_ratio={first['train_ratio_median']:.2f} encode_ratio={first['encode_ratio_median']:.2f}"
    )


if __name__ == "__main__":
    main()
