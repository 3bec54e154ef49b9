"""Where ONNX Runtime spends its time on an embedtune ONNX export: kernel time by operator type
over the first N SciFact documents (title + text, cut at --max-length), from ORT's profiler.

``--trace-attention sdpa`` writes the graph as PyTorch's exporter spells SDPA (the way
embedtune exported before it traced eager attention), to see what the eager trace saves.

    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/onnx_profile.py --model minilm-l6
    EMBEDTUNE_DATA_DIR=../shared/data python benchmarks/onnx_profile.py --model minilm-l6 --trace-attention sdpa
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_backends import POOLING, texts_of  # noqa: E402  (the same models and documents)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="minilm-l6", choices=sorted(POOLING))
    p.add_argument("--trace-attention", default="eager", choices=("eager", "sdpa"))
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--data-dir", default=os.environ.get("EMBEDTUNE_DATA_DIR"))
    p.add_argument("--output", help="write the shares as JSON here")
    args = p.parse_args()

    import onnxruntime as ort
    import torch

    from embedtune.export import onnx as onnx_export
    from embedtune.models import Embedder

    docs = texts_of("long", Path(args.data_dir), args.n)
    emb = Embedder.load(
        args.model,
        pooling=POOLING[args.model],
        max_length=args.max_length,
        attn_implementation=args.trace_attention,
    )
    folder = Path(tempfile.mkdtemp(prefix="onnx-profile-"))
    if args.trace_attention == "sdpa":  # keep the model's SDPA in the trace
        onnx_export.eager_attention = lambda emb: contextlib.nullcontext()
    onnx_export.write_onnx(emb, folder)
    onnx = Embedder.load(folder)
    options = ort.SessionOptions()
    # the threads OnnxEmbedder.load gives a session
    options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
    options.enable_profiling, options.profile_file_prefix = True, str(folder / "profile")
    onnx.session = ort.InferenceSession(
        str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    onnx.encode(docs[:4])  # warm-up
    start = time.perf_counter()
    onnx.encode(docs)
    seconds = time.perf_counter() - start
    events = json.loads(Path(onnx.session.end_profiling()).read_text())
    by_op: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"]
    total = sum(by_op.values())
    shares = {op: us / total for op, us in by_op.most_common()}
    print(
        f"{args.model}, attention traced as {args.trace_attention}: {len(docs)} documents in "
        f"{seconds:.2f} s under the profiler ({len(docs) / seconds:.1f} texts/s)"
    )
    print("| operator | kernel time | share |\n|---|---:|---:|")
    for op, us in by_op.most_common(8):
        print(f"| {op} | {us / 1e6:.3f} s | {100 * us / total:.1f} % |")
    if args.output:
        Path(args.output).write_text(
            json.dumps({"seconds": seconds, "shares": shares}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
