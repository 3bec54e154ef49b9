import asyncio
import base64

import numpy as np
import pytest

from embedtune.models import Embedder
from embedtune.serving.batcher import Batcher
from tests.conftest import SENTENCES

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from embedtune.serving.app import ServeSettings, create_app  # noqa: E402


@pytest.fixture
def served(tiny_decoder):
    emb = Embedder.load(tiny_decoder)
    settings = ServeSettings(model_name="tiny", max_inputs=8, max_tokens=12)
    with TestClient(create_app(emb, settings)) as client:
        yield emb, client


def test_embeddings_match_encode_in_openai_shape(served):
    emb, client = served
    r = client.post(
        "/v1/embeddings", json={"model": "tiny", "input": SENTENCES[:3], "encoding_format": "float"}
    )
    assert r.status_code == 200
    body = r.json()
    assert (
        body["object"] == "list" and body["model"] == "tiny" and body["usage"]["prompt_tokens"] > 0
    )
    got = np.array([d["embedding"] for d in sorted(body["data"], key=lambda d: d["index"])])
    assert np.abs(got - emb.encode(SENTENCES[:3])).max() <= 1e-5


def test_floats_read_back_to_the_exact_float32_and_sub_batches_change_nothing(tiny_decoder):
    """orjson prints each float32 with the fewest digits that read back to it: parsing the
    JSON and casting to float32 gives the encoder's bytes. Sub-batching a mixed-length batch
    (encode_batch 2) only changes padding, which the mask hides."""
    emb = Embedder.load(tiny_decoder)
    texts = [SENTENCES[0], "a cat", SENTENCES[1] + " " + SENTENCES[2], "dogs"]
    want = emb.encode(texts, batch_size=len(texts))
    for encode_batch in (None, 2):
        settings = ServeSettings(max_tokens=64, max_batch=4, encode_batch=encode_batch)
        with TestClient(create_app(emb, settings)) as client:
            data = client.post("/v1/embeddings", json={"input": texts}).json()["data"]
        got = np.array([d["embedding"] for d in data], dtype=np.float32)
        if encode_batch is None:
            assert got.tobytes() == want.tobytes()
        else:
            assert np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize(
    "key", ["max_batch", "encode_batch", "max_pool", "max_inputs", "max_queue"]
)
def test_settings_below_one_are_refused_naming_the_flag(tiny_decoder, key):
    from embedtune.errors import ConfigError

    with pytest.raises(ConfigError, match=f"`{key.replace('_', '-')}` must be >= 1, got 0"):
        create_app(Embedder.load(tiny_decoder), ServeSettings(**{key: 0}))


def test_input_type_picks_the_query_or_document_prompt(tiny_decoder):
    emb = Embedder.load(tiny_decoder, query_prompt="query: {}", document_prompt="passage: {}")
    with TestClient(create_app(emb, ServeSettings(max_tokens=32))) as client:
        for role in ("query", "document", None):
            body = {"input": SENTENCES[:2], **({"input_type": role} if role else {})}
            got = [d["embedding"] for d in client.post("/v1/embeddings", json=body).json()["data"]]
            assert np.abs(np.array(got) - emb.encode(SENTENCES[:2], role=role)).max() <= 1e-5
    assert np.abs(emb.encode(SENTENCES[:1], role="query") - emb.encode(SENTENCES[:1])).max() > 1e-3


def test_base64_single_string_and_dimensions(served):
    emb, client = served
    r = client.post(
        "/v1/embeddings", json={"input": SENTENCES[0], "encoding_format": "base64", "dimensions": 8}
    )
    vec = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
    full = emb.encode(SENTENCES[:1])[0][:8]
    assert vec.shape == (8,) and np.allclose(vec, full / np.linalg.norm(full), atol=1e-5)


def test_the_openai_client_works_against_it(served):
    openai = pytest.importorskip("openai")
    emb, client = served
    api = openai.OpenAI(api_key="unused", base_url="http://testserver/v1", http_client=client)
    out = api.embeddings.create(model="tiny", input=SENTENCES[:2])
    assert (
        np.abs(np.array([d.embedding for d in out.data]) - emb.encode(SENTENCES[:2])).max() <= 1e-5
    )


@pytest.mark.parametrize(
    "payload, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 422, "invalid_body"),
        (b'{"input": 5}', 422, "invalid_input"),
        (b'{"input": []}', 422, "invalid_input"),
        (b'{"input": ["ok", ""]}', 422, "invalid_input"),
        (b'{"input": "ok", "encoding_format": "hex"}', 422, "invalid_encoding_format"),
        (b'{"input": "ok", "dimensions": 0}', 422, "invalid_dimensions"),
        (b'{"input": "ok", "input_type": "passage"}', 422, "invalid_input_type"),
        (b'{"input": ["a", "b", "c", "d", "e", "f", "g", "h", "i"]}', 413, "too_many_inputs"),
        (('{"input": "' + "a cat " * 20 + '"}').encode(), 413, "input_too_long"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(served, payload, status, code):
    _, client = served
    r = client.post("/v1/embeddings", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert client.post("/v1/embeddings", json={"input": "a cat"}).status_code == 200
    assert client.get("/health").json()["status"] == "ok"


def test_concurrent_requests_are_batched_together():
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return np.arange(len(texts), dtype=np.float32)[:, None].repeat(2, 1)

    async def scenario():
        batcher = Batcher(encode, max_batch=64, max_wait_ms=50)
        batcher.start()
        results = await asyncio.gather(*(batcher.embed([f"t{i}", f"u{i}"]) for i in range(20)))
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert sum(calls) == 40 and len(calls) < 20  # fewer encode calls than requests
    assert all(r.shape == (2, 2) for r in results)


@pytest.mark.parametrize("max_pool, want_calls", [(None, [2] * 10), (8, [2, 8, 8, 2])])
def test_waiting_requests_join_the_pool_and_each_gets_its_own_rows(max_pool, want_calls):
    """While the model is busy with the first request, nine more queue up. Without a pool
    each later batch stops at max_batch (one request); with max_pool 8 the waiting requests
    join up to 8 texts. Every request must still get exactly its own rows back."""
    import threading

    gate, calls = threading.Event(), []

    def encode(texts):
        gate.wait(5)
        calls.append(len(texts))
        return np.array([[int(x) for x in t.split("-")] for t in texts], dtype=np.float32)

    async def scenario():
        batcher = Batcher(encode, max_batch=2, max_wait_ms=1000, max_pool=max_pool)
        batcher.start()
        requests = [[f"{i}-0", f"{i}-1"] for i in range(10)]
        first = asyncio.ensure_future(batcher.embed(requests[0]))
        await asyncio.sleep(0.1)  # the worker has taken it and waits at the gate
        rest = [asyncio.ensure_future(batcher.embed(r)) for r in requests[1:]]
        await asyncio.sleep(0.1)  # all nine are queued
        gate.set()
        results = await asyncio.gather(first, *rest)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert calls == want_calls
    for i, rows in enumerate(results):
        assert rows.tolist() == [[i, 0], [i, 1]]


def test_requests_start_and_shutdown_are_logged(tiny_decoder, caplog):
    import logging

    emb = Embedder.load(tiny_decoder)
    with caplog.at_level(logging.INFO, logger="embedtune.serve"):
        with TestClient(create_app(emb, ServeSettings("tiny", max_inputs=2))) as client:
            assert client.post("/v1/embeddings", json={"input": SENTENCES[:2]}).status_code == 200
            assert client.post("/v1/embeddings", json={"input": SENTENCES[:3]}).status_code == 413
    lines = [r.getMessage() for r in caplog.records if r.name == "embedtune.serve"]
    assert lines[0].startswith("ready: tiny")
    assert any(
        x.startswith("POST /v1/embeddings 200 2 inputs") and x.endswith(" ms") for x in lines
    )
    assert any(x.startswith("POST /v1/embeddings 413 3 inputs") for x in lines)
    assert lines[-1] == "shutting down after 2 requests (5 texts in 1 batches)"


def test_the_serve_command_says_where_it_listens_logs_and_says_goodbye(tiny_decoder):
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "embedtune", "serve", "--model", str(tiny_decoder)]
    cmd += ["--port", str(port), "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        r = httpx.post(f"http://127.0.0.1:{port}/v1/embeddings", json={"input": ["a cat"]})
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert f"serving {tiny_decoder} on http://127.0.0.1:{port}" in out
    assert "POST /v1/embeddings 200 1 inputs" in out and "GET /health 200" in out
    assert "shutting down after" in out
