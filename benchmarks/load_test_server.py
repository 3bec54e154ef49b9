"""Load test of ``embedtune serve`` on loopback: C concurrent clients send N requests of 1-16
texts each; reports requests/s, texts/s, p50/p99 latency and errors, then encodes the same
texts with plain batched ``Embedder.encode`` in the same process for comparison.

Bounded: N requests and a wall-clock limit; traffic goes to 127.0.0.1 only.

    python benchmarks/load_test_server.py --model gemma3-270m --clients 16 --requests 2000
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not become ready")


def post(url: str, texts: list[str]) -> tuple[float, int]:
    body = json.dumps({"model": "m", "input": texts}).encode()
    req = urllib.request.Request(
        url + "/v1/embeddings", data=body, headers={"content-type": "application/json"}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            n = len(json.loads(r.read())["data"])
            status = r.status if n == len(texts) else -1
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = -2
    return time.perf_counter() - start, status


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--max-seconds", type=float, default=900)
    args = p.parse_args()

    from embedtune.data.demo import demo_sts, demo_triplets

    pool = sorted(set(demo_sts().sentences1 + demo_triplets().anchors))
    rng = random.Random(0)
    batches = [rng.sample(pool, rng.randint(1, 16)) for _ in range(args.requests)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedtune",
            "serve",
            "--model",
            args.model,
            "--dtype",
            args.dtype,
            "--port",
            str(port),
            "--max-batch",
            "64",
            "--max-wait-ms",
            "10",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(url, 300)
        post(url, ["warm up"])
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            results = list(
                ex.map(
                    lambda b: (
                        post(url, b)
                        if time.perf_counter() - start < args.max_seconds
                        else (0.0, -3)
                    ),
                    batches,
                )
            )
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = [lat for lat, status in results if status == 200]
    errors = len(results) - len(ok)
    texts = sum(len(b) for b, (_, s) in zip(batches, results) if s == 200)
    lat = sorted(ok)
    print(
        f"server: {len(results)} requests, {args.clients} clients, {wall:.1f} s, {len(ok) / wall:.1f} requests/s, "
        f"{texts / wall:.1f} texts/s, p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:.0f} ms, errors {errors}"
    )

    from embedtune.models import Embedder

    emb = Embedder.load(args.model, dtype=args.dtype)
    flat = [t for b in batches for t in b]
    emb.encode(flat[:64], batch_size=64)
    t0 = time.perf_counter()
    emb.encode(flat, batch_size=64, show_progress=False)
    plain = time.perf_counter() - t0
    print(
        f"plain encode: {len(flat)} texts in {plain:.1f} s, {len(flat) / plain:.1f} texts/s (batch 64, same texts)"
    )
    print(
        f"server_texts_per_s={texts / wall:.1f} encode_texts_per_s={len(flat) / plain:.1f} errors={errors}"
    )


if __name__ == "__main__":
    main()
