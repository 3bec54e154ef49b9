"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from embedtune.dtypes import DTYPE_NAMES
from embedtune.models.attention import ATTENTION_MODES
from embedtune.models.pooling import POOLING_MODES


def add_model_options(p: argparse.ArgumentParser, model_required: bool = True) -> None:
    p.add_argument(
        "--model",
        required=model_required,
        help="named model (gemma3-270m, smollm2-135m, minilm-l6), a folder, or a Hub id",
    )
    p.add_argument("--pooling", choices=POOLING_MODES, help="default: the model's own")
    p.add_argument(
        "--attention",
        choices=ATTENTION_MODES,
        help="bidirectional: lift a decoder's causal mask (default: the model's own)",
    )
    p.add_argument(
        "--prompt",
        help='template with one {} for the text, e.g. \'This sentence: "{}" means in one word: "\'',
    )
    p.add_argument("--query-prompt", help="template for queries (retrieval); default: --prompt")
    p.add_argument(
        "--document-prompt", help="template for documents (retrieval); default: --prompt"
    )
    p.add_argument(
        "--max-length",
        type=int,
        help="truncate inputs to this many tokens (default: the model's limit)",
    )
    p.add_argument(
        "--batch-tokens",
        type=int,
        help="at most this many padded tokens per encode pass, besides --batch-size texts "
        "(default 1024 on CPU, 4096 on a GPU: long texts go in smaller, faster passes)",
    )
    p.add_argument(
        "--pack-tokens",
        type=int,
        help="encode texts laid end to end in rows of about this many tokens, so no padding "
        "is computed (decoders with causal attention; 0 or unset: padded passes)",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="bf16",
        help="compute precision (default bf16: fast on AMX CPUs and GPUs)",
    )
    p.add_argument(
        "--attn-implementation",
        choices=["eager", "sdpa"],
        help="attention kernels (default: transformers' choice; eager is faster for short texts on CPU)",
    )
    add_trust_remote_code(p)
    p.add_argument(
        "--device",
        default="auto",
        help="auto (a GPU when CUDA is there, else CPU), cpu, cuda or cuda:N",
    )


def add_trust_remote_code(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        default=None,
        help="run modelling code shipped with the model (auto_map); only for models you trust",
    )


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="data root laid out as sts/<task>/<split>.tsv (default: $EMBEDTUNE_DATA_DIR, else the Hub)",
    )


def embedder_overrides(args: argparse.Namespace) -> dict:
    return {
        "pooling": args.pooling,
        "attention": args.attention,
        "prompt": args.prompt,
        "query_prompt": args.query_prompt,
        "document_prompt": args.document_prompt,
        "max_length": args.max_length,
        "batch_tokens": args.batch_tokens,
        "pack_tokens": args.pack_tokens,
        "dtype": args.dtype,
        "device": args.device,
        "attn_implementation": args.attn_implementation,
        "trust_remote_code": args.trust_remote_code,
    }


def add_precision(p: argparse.ArgumentParser, help_text: str) -> None:
    from embedtune.quantization import PRECISIONS

    p.add_argument("--precision", choices=PRECISIONS, default="float32", help=help_text)
