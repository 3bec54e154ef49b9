"""``POST /v1/embeddings`` in the OpenAI shape, and ``GET /health``.

Requests are validated by hand so each mistake gets the right status and a JSON error in
OpenAI's ``{"error": {...}}`` shape: unparsable JSON 400, wrong field types 422, too many
inputs or an input over the token limit 413, a full queue 503. Nothing a client sends can
stop the server. Every request is logged at info level (method, path, status, inputs, ms) on
the ``embedtune.serve`` logger; start and shutdown are logged too.

Responses are written by orjson straight from the float32 rows: FastAPI's default path
(``jsonable_encoder`` then ``json.dumps`` over Python floats) took 10.4-10.9 ms of the event
loop per 16-text gemma3-270m response, CPU the model then lacks; orjson takes 0.20 ms
(``benchmarks/load_test_server.py``) and prints each float32 with the fewest digits that read
back to the same float32.
"""

from __future__ import annotations

import base64
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from embedtune.errors import ConfigError
from embedtune.serving.batcher import Batcher, QueueFull

log = logging.getLogger("embedtune.serve")


def _error(status: int, message: str, code: str) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": code}}, status_code=status
    )


@dataclass(frozen=True)
class ServeSettings:
    """What `embedtune serve` exposes as flags: the name the server answers with, the limits
    a request must keep, and how requests are batched together."""

    model_name: str = "embedtune"
    max_inputs: int = 256  # inputs per request (413 above)
    max_tokens: int | None = None  # tokens per input (413 above); None: the model's max length
    max_batch: int = 64  # texts taken together across requests
    # the batch is sorted by length and run through the model this many texts at a time, so
    # short and long texts from different requests are not padded to one length
    encode_batch: int | None = None  # None: max_batch
    # once a batch has formed, requests already waiting join it up to this many texts, so
    # the length sort spans more requests (less padding); None: max_batch (no pool)
    max_pool: int | None = None
    max_wait_ms: float = 5.0  # how long a batch waits to fill
    max_queue: int = 1024  # waiting requests before 503

    def __post_init__(self) -> None:
        for key in ("max_inputs", "max_batch", "encode_batch", "max_pool", "max_queue"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"`{key.replace('_', '-')}` must be >= 1, got {value}")


def create_app(embedder, settings: ServeSettings | None = None):
    s = settings or ServeSettings()
    model_name, max_inputs, max_batch = s.model_name, s.max_inputs, s.max_batch
    encode_batch = s.encode_batch or max_batch
    max_tokens = s.max_tokens or embedder.config.max_length

    def batcher_for(role):
        return Batcher(
            lambda texts: embedder.encode(
                texts, batch_size=encode_batch, show_progress=False, role=role
            ),
            max_batch=max_batch,
            max_wait_ms=s.max_wait_ms,
            max_queue=s.max_queue,
            max_pool=s.max_pool,
        )

    # `input_type` picks the prompt: none (the model's prompt), "query" or "document" (its
    # query / document prompts); each has its own batcher, so a batch shares one prompt
    batchers = {role: batcher_for(role) for role in (None, "query", "document")}

    served = {"requests": 0, "texts": 0}

    @asynccontextmanager
    async def lifespan(app):
        for b in batchers.values():
            b.start()
        log.info(
            "ready: %s, %d dimensions, batches of up to %d texts",
            model_name,
            embedder.dim,
            max_batch,
        )
        yield
        log.info(
            "shutting down after %d requests (%d texts in %d batches)",
            served["requests"],
            served["texts"],
            sum(b.batches for b in batchers.values()),
        )
        for b in batchers.values():
            await b.stop()

    app = FastAPI(title="embedtune", lifespan=lifespan)
    app.state.batchers = batchers

    @app.middleware("http")
    async def log_request(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        inputs = getattr(request.state, "inputs", 0)
        served["requests"] += 1
        served["texts"] += inputs
        log.info(
            "%s %s %d %d inputs %.1f ms",
            request.method,
            request.url.path,
            response.status_code,
            inputs,
            (time.perf_counter() - start) * 1000,
        )
        return response

    @app.get("/health")
    async def health():
        return {
            "status": "ok",
            "model": model_name,
            "dimensions": embedder.dim,
            "batches": sum(b.batches for b in batchers.values()),
        }

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error(400, "request body is not valid JSON", "invalid_json")
        if not isinstance(body, dict):
            return _error(422, "request body must be a JSON object", "invalid_body")
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t for t in texts)
        ):
            return _error(
                422,
                "`input` must be a non-empty string or a non-empty list of non-empty strings",
                "invalid_input",
            )
        request.state.inputs = len(texts)
        if len(texts) > max_inputs:
            return _error(
                413, f"{len(texts)} inputs; at most {max_inputs} per request", "too_many_inputs"
            )
        role = body.get("input_type")
        if role not in batchers:
            return _error(
                422, "`input_type` must be 'query' or 'document' (or absent)", "invalid_input_type"
            )
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            return _error(
                422, "`encoding_format` must be 'float' or 'base64'", "invalid_encoding_format"
            )
        dims = body.get("dimensions")
        if dims is not None and (
            not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= embedder.dim
        ):
            return _error(
                422, f"`dimensions` must be an integer in [1, {embedder.dim}]", "invalid_dimensions"
            )
        lengths = [len(x) for x in embedder.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        too_long = [i for i, n in enumerate(lengths) if n > max_tokens]
        if too_long:
            return _error(
                413,
                f"input {too_long[0]} has {lengths[too_long[0]]} tokens; at most {max_tokens}",
                "input_too_long",
            )
        try:
            vectors = await batchers[role].embed(texts)
        except QueueFull:
            return _error(503, "server busy: request queue is full, retry later", "queue_full")
        if dims is not None:
            vectors = vectors[:, :dims]
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        data = []
        for i, v in enumerate(np.ascontiguousarray(vectors, dtype="<f4")):
            emb = base64.b64encode(v.tobytes()).decode() if fmt == "base64" else v
            data.append({"object": "embedding", "index": i, "embedding": emb})
        used = int(sum(lengths))
        payload = {
            "object": "list",
            "data": data,
            "model": body.get("model") or model_name,
            "usage": {"prompt_tokens": used, "total_tokens": used},
        }
        return Response(
            orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
        )

    return app
