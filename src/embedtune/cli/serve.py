"""``embedtune serve``: an OpenAI-compatible embedding server (POST /v1/embeddings, GET /health)."""

from __future__ import annotations

import argparse

from embedtune.cli.common import add_model_options, embedder_overrides


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="serve embeddings over HTTP (OpenAI-compatible)", description=__doc__
    )
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--max-batch", type=int, default=64, help="texts encoded together across requests"
    )
    p.add_argument(
        "--encode-batch",
        type=int,
        help="texts per forward pass inside a batch, sorted by length so requests of "
        "different lengths are not padded to one length (default: --max-batch)",
    )
    p.add_argument(
        "--max-pool",
        type=int,
        help="once a batch has formed, requests already waiting join it up to this many "
        "texts, so the length sort spans more requests (default, or any value up to "
        "--max-batch: no pool; measured no faster on a 2-core CPU)",
    )
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits to fill")
    p.add_argument("--max-inputs", type=int, default=256, help="inputs per request (413 above)")
    p.add_argument(
        "--max-tokens",
        type=int,
        help="tokens per input (413 above; default: the model's max length)",
    )
    p.add_argument("--max-queue", type=int, default=1024, help="waiting requests before 503")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        from embedtune.errors import EmbedtuneError

        raise EmbedtuneError(
            "serving needs fastapi and uvicorn: pip install 'embedtune[serve]'"
        ) from None
    from embedtune.models import Embedder
    from embedtune.serving.app import ServeSettings, create_app

    embedder = Embedder.load(args.model, **embedder_overrides(args))
    settings = ServeSettings(
        model_name=args.model,
        max_inputs=args.max_inputs,
        max_tokens=args.max_tokens,
        max_batch=args.max_batch,
        encode_batch=args.encode_batch,
        max_pool=args.max_pool,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
    )
    app = create_app(embedder, settings)
    import logging
    import sys

    # request lines with a timestamp, on their own handler (not also as [embedtune] lines)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s embedtune serve: %(message)s"))
    serve_log = logging.getLogger("embedtune.serve")
    serve_log.addHandler(handler)
    serve_log.propagate = False
    print(
        f"embedtune: serving {args.model} on http://{args.host}:{args.port} "
        "(POST /v1/embeddings, GET /health; Ctrl-C stops)",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
