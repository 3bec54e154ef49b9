"""How cost grows, so a user can predict a run: training step time against batch size and text
length, encode time against batch size and text length, and retrieval scoring time against
corpus size; each table gives the cost per unit (ms per triplet, µs per token) so where
growth stops being linear can be read off.

Texts of an exact length are made from real NLI sentences run together and cut at L tokens
(the EOS is the L-th), so every text of a cell has L tokens and no padding. Training cells
run the real trainer (the headline recipe's LoRA q/v, bf16, hard negatives: 3 texts per
triplet) for a warm-up step and ``--steps`` timed steps (median); encode cells time
``Embedder.encode`` over ``--encode-texts`` texts, repeated until ``--min-seconds``. Scoring
cells time the evaluator's exact top-k (k 1000, as MTEB) of 300 queries over N random unit
vectors of the model's width, a stand-in for a corpus already embedded: evaluation time is
the corpus's encode time (the encode table, documents x their tokens) plus this.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/cost_growth.py --model gemma3-270m
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/cost_growth.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def long_texts(sentences: list[str], n: int, words: int = 600) -> list[str]:
    """``n`` texts of about ``words`` words each, from consecutive real sentences."""
    out, i = [], 0
    for _ in range(n):
        parts, count = [], 0
        while count < words:
            parts.append(sentences[i % len(sentences)])
            count += len(parts[-1].split())
            i += 1
        out.append(" ".join(parts))
    return out


def train_cell(args, triplets, batch: int, length: int | None) -> dict:
    """Median seconds of a training step at ``batch`` triplets of ``length`` tokens each
    (None: the NLI texts as they are, cut at the recipe's 128). The headline recipe
    (configs/cpu-gemma3-270m.yaml) with the model and batch swapped in."""
    from embedtune.config import load_config
    from embedtune.data.batching import epoch_batches
    from embedtune.data.triplets import Triplets
    from embedtune.training.trainer import Trainer

    if length is not None:
        n = batch * (args.steps + 1)
        texts = long_texts(triplets.anchors, 3 * n)
        triplets = Triplets(texts[:n], texts[n : 2 * n], texts[2 * n :], "cost-growth")
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "model": args.model,
            "batch_size": batch,
            "max_steps": args.steps + 1,
            "eval_every": 0,
            "save_every": 0,
            "eval_tasks": "",
            "eval_before": False,
            "output_dir": tmp,
            "pack_tokens": 0,  # the padded, uncompiled step its results measured
            "compile": False,
        }
        if length is not None:
            overrides["max_length"] = length
        cfg = load_config(ROOT / "configs" / "cpu-gemma3-270m.yaml", overrides)
        trainer = Trainer(cfg, triplets)
        trainer.setup()
        trainer.embedder.train()
        batches = epoch_batches(trainer.data.lengths, batch, cfg.seed, 0, cfg.group_by_length)
        times, tokens = [], []
        for i, idx in enumerate(batches[: args.steps + 1]):
            start = time.perf_counter()
            _, n_tokens, _ = trainer.train_step(idx)
            trainer.state.step += 1
            if i:  # the first step is the warm-up
                times.append(time.perf_counter() - start)
                tokens.append(n_tokens)
    sec = statistics.median(times)
    return {"step_s": sec, "tokens": statistics.median(tokens)}


def encode_cell(args, embedder, texts: list[str], batch: int) -> float:
    """Texts per second of ``embedder.encode`` at ``batch``, over whole passes."""
    embedder.encode(texts[:batch], batch_size=batch)  # warm-up
    start, passes = time.perf_counter(), 0
    while not passes or time.perf_counter() - start < args.min_seconds:
        embedder.encode(texts, batch_size=batch, show_progress=False)
        passes += 1
    return passes * len(texts) / (time.perf_counter() - start)


def scoring_cell(dim: int, n_docs: int, n_queries: int = 300, k: int = 1000) -> float:
    from embedtune.evaluation.retrieval import top_k

    gen = torch.Generator().manual_seed(0)
    docs = torch.nn.functional.normalize(torch.randn(n_docs, dim, generator=gen), dim=1)
    queries = torch.nn.functional.normalize(torch.randn(n_queries, dim, generator=gen), dim=1)
    start = time.perf_counter()
    top_k(queries, docs, k)
    return time.perf_counter() - start


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--train-batches", default="8,16,32,64", help="at the NLI texts' lengths")
    p.add_argument("--train-lengths", default="16,32,64,128,256", help="tokens per text")
    p.add_argument("--length-batch", type=int, default=32, help="batch of the length cells")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per cell")
    p.add_argument("--encode-batches", default="1,8,32,128")
    p.add_argument("--encode-lengths", default="16,64,256,512")
    p.add_argument("--encode-texts", type=int, default=256)
    p.add_argument(
        "--encode-batch-tokens",
        default="",
        help="token bounds per pass (Embedder.batch_tokens) measured at --length-batch texts",
    )
    p.add_argument("--dtype", default="bf16", help="of the encode cells (training: the recipe's)")
    p.add_argument("--min-seconds", type=float, default=5.0)
    p.add_argument("--corpus-sizes", default="10000,100000,1000000")
    p.add_argument("--parts", default="train,encode,scoring")
    p.add_argument("--quick", action="store_true", help="one small cell of each part")
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--output")
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set --data-dir or EMBEDTUNE_DATA_DIR")
    if args.quick:
        args.train_batches, args.train_lengths, args.length_batch, args.steps = "4", "16", 4, 1
        args.encode_batches, args.encode_lengths, args.encode_texts = "8", "16", 16
        args.encode_batch_tokens = "32"
        args.min_seconds, args.corpus_sizes = 0.0, "10000"
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parts = args.parts.split(",")

    from embedtune.data.triplets import read_triplets
    from embedtune.models import Embedder

    triplets = read_triplets(Path(args.data_dir) / "nli" / "triplets.tsv")
    result: dict = {"model": args.model, "threads": torch.get_num_threads()}
    if "train" in parts:
        cells = [(b, None) for b in ints(args.train_batches)]
        cells += [(args.length_batch, n) for n in ints(args.train_lengths)]
        rows = []
        for batch, length in cells:
            out = train_cell(args, triplets, batch, length)
            rows.append({"batch": batch, "length": length, **out})
            print(f"train batch {batch} length {length or 'NLI'}: {json.dumps(out)}", flush=True)
        result["train"] = rows
        print(
            table(
                ["batch", "tokens per text", "step s", "ms per triplet", "µs per token"],
                [
                    [
                        str(r["batch"]),
                        str(r["length"] or f"NLI (mean {r['tokens'] / r['batch'] / 3:.0f})"),
                        f"{r['step_s']:.2f}",
                        f"{1000 * r['step_s'] / r['batch']:.0f}",
                        f"{1e6 * r['step_s'] / r['tokens']:.0f}",
                    ]
                    for r in rows
                ],
            )
        )
    if "encode" in parts:
        texts = long_texts(triplets.anchors, args.encode_texts)
        rows = []
        for length in ints(args.encode_lengths):
            emb = Embedder.load(args.model, max_length=length, dtype=args.dtype)
            cells = [(b, None) for b in ints(args.encode_batches)]
            cells += [(args.length_batch, t) for t in ints(args.encode_batch_tokens)]
            for batch, bound in cells:
                emb.batch_tokens = bound  # None: `batch` texts a pass whatever their length
                rate = encode_cell(args, emb, texts, batch)
                rows.append(
                    {"batch": batch, "batch_tokens": bound, "length": length, "texts_per_s": rate}
                )
                print(
                    f"encode batch {batch} tokens {bound or '-'} length {length}: "
                    f"{rate:.1f} texts/s",
                    flush=True,
                )
        result["encode"] = rows
        print(
            table(
                ["tokens per text", "batch", "tokens per pass", "texts/s", "µs per token"],
                [
                    [
                        str(r["length"]),
                        str(r["batch"]),
                        f"<= {r['batch_tokens']}" if r["batch_tokens"] else "-",
                        f"{r['texts_per_s']:.1f}",
                        f"{1e6 / (r['texts_per_s'] * r['length']):.0f}",
                    ]
                    for r in rows
                ],
            )
        )
    if "scoring" in parts:
        dim = Embedder.load(args.model).dim
        rows = [{"docs": n, "seconds": scoring_cell(dim, n)} for n in ints(args.corpus_sizes)]
        result["scoring"] = rows
        print(
            table(
                ["documents", f"top-1000 of 300 queries, s ({dim} dims)", "µs per document"],
                [
                    [
                        f"{r['docs']:,}",
                        f"{r['seconds']:.2f}",
                        f"{1e6 * r['seconds'] / r['docs']:.1f}",
                    ]
                    for r in rows
                ],
            )
        )
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
