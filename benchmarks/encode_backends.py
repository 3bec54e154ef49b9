"""Encoding throughput by backend: embedtune's PyTorch path (bf16 and fp32), ONNX Runtime on
embedtune's ONNX export (fp32), and sentence-transformers' eager PyTorch (bf16 and fp32).

Each measurement is a fresh Python process; the backends take turns (one round = each backend
once, in order), ``--rounds`` times; each timing repeats whole passes over the texts until
``--min-seconds`` have passed (minilm-l6 embeds 1,000 sentences in about a second, too short
to time on a shared machine). The median texts/s is reported with the ratio to
sentence-transformers at the same precision. Two text sets: short (STS sentences) and long
(SciFact documents, title + text, cut at ``--max-length``). Every backend's embeddings are
checked against embedtune fp32 (least cosine), so a fast backend that embeds differently is
visible. The ONNX export is written once per model into ``runs/bench-onnx/`` (kept).

sentence-transformers' own ONNX backend goes through optimum-onnx, which requires
transformers < 4.58 and cannot share this environment (transformers 5.23); ONNX Runtime on
an exported graph is the peer the issue names in its place.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/encode_backends.py --rounds 3
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/encode_backends.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ONNX_DIR = ROOT / "runs" / "bench-onnx"
BACKENDS = ("embedtune-bf16", "embedtune-fp32", "embedtune-onnx", "st-bf16", "st-fp32")
POOLING = {"gemma3-270m": "last_token", "minilm-l6": "mean"}


def texts_of(kind: str, data_dir: Path, n: int) -> list[str]:
    from embedtune.evaluation.run import load_tasks

    if kind == "short":
        from embedtune.evaluation.sts import distinct_sentences

        return list(distinct_sentences(load_tasks("all", data_dir)))[:n]
    (task,) = load_tasks("scifact", data_dir)
    return list(task.docs)[:n]


def onnx_folder(model: str, max_length: int) -> Path:
    """embedtune's ONNX export of ``model`` (written on first use)."""
    out = ONNX_DIR / model
    if not (out / "model.onnx").is_file():
        from embedtune.export.export import export
        from embedtune.models import Embedder

        base = ONNX_DIR / f"{model}-settings"
        Embedder.load(model, pooling=POOLING[model], max_length=max_length).save(base)
        export(str(base), str(out), "onnx")
    return out


def worker(args) -> None:
    """One backend, one model, one text set: warm up, time one pass, save the vectors."""
    import torch

    texts = texts_of(args.texts, Path(args.data_dir), args.n)
    tool, _, precision = args.worker.partition("-")
    if tool == "embedtune":
        from embedtune.models import Embedder

        source = (
            str(onnx_folder(args.model, args.max_length)) if precision == "onnx" else args.model
        )
        dtype = "fp32" if precision == "onnx" else precision
        model = Embedder.load(
            source, pooling=POOLING[args.model], dtype=dtype, max_length=args.max_length
        )

        def encode(xs):
            return model.encode(xs, batch_size=args.batch, show_progress=False)
    else:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.models import Normalize, Pooling, Transformer

        from embedtune.export.export import make_tokenizer_append_eos
        from embedtune.models.pooling import ST_POOLING
        from embedtune.models.registry import locate

        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        body = Transformer(
            str(locate(args.model)), max_seq_length=args.max_length, model_kwargs={"dtype": dtype}
        )
        if POOLING[args.model] == "last_token":  # the EOS state, as embedtune embeds
            make_tokenizer_append_eos(body.tokenizer)
        st_pool, _ = ST_POOLING[POOLING[args.model]]
        pooling = Pooling(body.get_embedding_dimension(), st_pool)
        model = SentenceTransformer(modules=[body, pooling, Normalize()], device="cpu")

        def encode(xs):
            return model.encode(xs, batch_size=args.batch, show_progress_bar=False)

    encode(texts[: args.batch * 2])  # warm-up
    start = time.perf_counter()
    vectors = np.asarray(encode(texts), dtype=np.float32)
    passes = 1
    while time.perf_counter() - start < args.min_seconds:  # a fast backend: time more passes
        encode(texts)
        passes += 1
    seconds = time.perf_counter() - start
    np.save(args.save, vectors)
    print(json.dumps({"texts_per_s": passes * len(texts) / seconds, "seconds": seconds}))


def run_one(args, backend: str, model: str, texts: str, save: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, "--model", model, "--texts", texts]
    cmd += ["--data-dir", str(args.data_dir), "--n", str(args.n[texts]), "--save", str(save)]
    cmd += ["--batch", str(args.batch), "--max-length", str(args.max_length)]
    cmd += ["--min-seconds", str(args.min_seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"{backend} / {model} / {texts} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown_table(results: list[dict]) -> str:
    """One row per (model, texts, backend): median texts/s, the ratio to sentence-transformers
    at the same precision (ONNX Runtime runs float32), least cosine against embedtune fp32."""
    lines = [
        "| model | texts | backend | texts/s (median) | vs st same precision "
        "| least cosine vs fp32 |",
        "|---|---|---|---:|---:|---:|",
    ]
    speed = {(r["model"], r["texts"], r["backend"]): r["texts_per_s"] for r in results}
    for r in results:
        prec = "fp32" if r["backend"].endswith(("fp32", "onnx")) else "bf16"
        peer = speed.get((r["model"], r["texts"], f"st-{prec}"))
        ratio = f"{r['texts_per_s'] / peer:.2f}x" if peer else "-"
        cos = r["least_cosine_vs_fp32"]
        lines.append(
            f"| {r['model']} | {r['texts']} | {r['backend']} | {r['texts_per_s']:.1f} | {ratio} "
            f"| {'-' if cos is None else f'{cos:.5f}'} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default="minilm-l6,gemma3-270m")
    p.add_argument("--texts", default="short,long", help="short (STS) and/or long (SciFact)")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--short-n", type=int, default=2000)
    p.add_argument("--long-n", type=int, default=300)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument(
        "--min-seconds",
        type=float,
        default=10.0,
        help="each timing repeats whole passes until this long (a 1-second pass is noise)",
    )
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--quick", action="store_true", help="1 round, 200 short / 30 long texts")
    p.add_argument("--output", help="write the results as JSON here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("set EMBEDTUNE_DATA_DIR or --data-dir to the data folder")
    if args.worker:
        args.texts = args.texts.split(",")[0]
        return worker(args)
    if args.quick:
        args.rounds, args.short_n, args.long_n, args.min_seconds = 1, 200, 30, 0
    from embedtune.evaluation.sts import cosine

    args.n = {"short": args.short_n, "long": args.long_n}
    backends = args.backends.split(",")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            if "embedtune-onnx" in backends:
                onnx_folder(model, args.max_length)  # exported once, outside the timing
            for texts in args.texts.split(","):
                speeds: dict[str, list[float]] = {b: [] for b in backends}
                for r in range(args.rounds):
                    for b in backends:
                        out = run_one(args, b, model, texts, Path(tmp) / f"{b}.npy")
                        speeds[b].append(out["texts_per_s"])
                        print(f"[{model} {texts} round {r + 1}] {b}: {out['texts_per_s']:.1f}/s")
                ref = (
                    np.load(Path(tmp) / "embedtune-fp32.npy")
                    if "embedtune-fp32" in backends
                    else None
                )
                for b in backends:
                    vec = np.load(Path(tmp) / f"{b}.npy")
                    results.append(
                        {
                            "model": model,
                            "texts": texts,
                            "n": args.n[texts],
                            "backend": b,
                            "texts_per_s": statistics.median(speeds[b]),
                            "runs": speeds[b],
                            "least_cosine_vs_fp32": None
                            if ref is None
                            else float(cosine(vec, ref).min()),
                        }
                    )
    print("\n" + markdown_table(results))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
