"""Load test of ``embedtune serve`` on loopback against plain batched ``Embedder.encode``.

C concurrent clients (each a thread with one keep-alive connection, as an OpenAI client
keeps) send the same N requests of 1-16 demo sentences, for each C in ``--clients``; then
the benchmark process encodes exactly those texts with ``Embedder.encode`` (batch 64, sorted
by length: the best case a batch job gets). One round = one fresh server process measured at
every C, with the plain encode just before and after it (their mean is the round's 100 %);
``--rounds`` rounds, medians reported with the ratio
server / plain and p50 / p99 request latency. Also times what a response costs to write
(FastAPI's default JSON path against orjson) for one 16-text response, and where the CPU
went during each measurement (the server's model threads, its event loop, the clients, idle).

Bounded: N requests per C, a wall-clock limit per measurement; traffic stays on 127.0.0.1.
Client and server share this machine's cores, so the clients' own work (JSON parsing) is
taken from the server; they parse with orjson to keep that small.

    python benchmarks/load_test_server.py --model gemma3-270m --clients 1,4,16 --rounds 3
    python benchmarks/load_test_server.py --model gemma3-270m --serve-args="--encode-batch 16"
    python benchmarks/load_test_server.py --model gemma3-270m --server-env OMP_WAIT_POLICY=PASSIVE
    python benchmarks/load_test_server.py --model gemma3-270m --attn-implementation eager
    python benchmarks/load_test_server.py --model gemma3-270m --replay 64,128,256 --rounds 3
    python benchmarks/load_test_server.py --model gemma3-270m --pack-tokens 256
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def post(self, texts: list[str]) -> tuple[float, int]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        body = orjson.dumps({"model": "m", "input": texts})
        start = time.perf_counter()
        try:
            conn.request("POST", "/v1/embeddings", body, {"content-type": "application/json"})
            r = conn.getresponse()
            payload = r.read()
            status = r.status
            if status == 200 and len(orjson.loads(payload)["data"]) != len(texts):
                status = -1
        except OSError:
            self.local.conn = None
            status = -2
        return time.perf_counter() - start, status


def wait_ready(port: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("server did not become ready")


def cpu_seconds(server: psutil.Process) -> dict[str, float]:
    """CPU seconds so far: the server's main thread (uvicorn's event loop: HTTP, validation,
    the tokenization for the length limit, JSON), the server's other threads (the encode
    thread and torch's OpenMP pool; threads that have exited count here too) and this
    process (the clients; it does nothing else while they run)."""
    total = sum(server.cpu_times()[:2])
    main = next((t.user_time + t.system_time for t in server.threads() if t.id == server.pid), 0.0)
    return {"event_loop": main, "model": total - main, "clients": time.process_time()}


def cpu_shares(before: dict, after: dict, wall: float) -> dict[str, float]:
    """Where the machine's CPU went during a measurement, as shares of cores x wall time;
    ``idle`` is what nobody used (the model waiting for a batch, clients waiting on it)."""
    capacity = wall * len(os.sched_getaffinity(0))
    shares = {f"cpu_{k}": (after[k] - before[k]) / capacity for k in before}
    shares["cpu_idle"] = max(0.0, 1 - sum(shares.values()))
    return shares


def load(
    port: int, clients: int, batches: list[list[str]], max_seconds: float, server: psutil.Process
) -> dict:
    client = Client(port)
    client.post(["warm up"])
    cpu_before = cpu_seconds(server)
    start = time.perf_counter()

    def one(b):
        return client.post(b) if time.perf_counter() - start < max_seconds else (0.0, -3)

    with ThreadPoolExecutor(clients) as ex:
        results = list(ex.map(one, batches))
    wall = time.perf_counter() - start
    shares = cpu_shares(cpu_before, cpu_seconds(server), wall)
    lat = sorted(lat for lat, status in results if status == 200)
    texts = sum(len(b) for b, (_, s) in zip(batches, results) if s == 200)
    return {
        "texts_per_s": texts / wall,
        "requests_per_s": len(lat) / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
        "errors": len(results) - len(lat),
        **shares,
    }


def serve_round(args, batches) -> dict[int, dict]:
    port = free_port()
    cmd = [sys.executable, "-m", "embedtune", "serve", "--model", args.model]
    cmd += ["--dtype", args.dtype, "--port", str(port), "--max-batch", "64"]
    cmd += ["--max-wait-ms", "10", *shlex.split(args.serve_args)]
    if args.attn_implementation:
        cmd += ["--attn-implementation", args.attn_implementation]
    if args.pack_tokens:
        cmd += ["--pack-tokens", str(args.pack_tokens)]
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in args.server_env))
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_ready(port, 300)
        proc = psutil.Process(server.pid)
        return {c: load(port, c, batches, args.max_seconds, proc) for c in args.clients}
    finally:
        server.terminate()
        server.wait(timeout=30)


def server_groups(batches: list[list[str]], max_batch: int) -> list[list[str]]:
    """Consecutive requests taken together until ``max_batch`` texts, as the server takes them."""
    groups, group = [], []
    for request in batches:
        group += request
        if len(group) >= max_batch:
            groups.append(group)
            group = []
    return groups + ([group] if group else [])


def encode_rate(emb, groups: list[list[str]]) -> float:
    """texts/s of ``Embedder.encode`` (batch 64, sorted by length within each call) over the
    groups one call each: ``[all texts]`` is the plain encode every ratio here divides by."""
    start = time.perf_counter()
    for group in groups:
        emb.encode(group, batch_size=64, show_progress=False)
    return sum(len(g) for g in groups) / (time.perf_counter() - start)


def replay(
    emb, batches: list[list[str]], sizes: list[int], rounds: int, pack_tokens: int | None = None
) -> dict[str, list]:
    """texts/s of ``Embedder.encode`` over the requests grouped as a server of each max batch
    groups them, in this process (no HTTP, no threads), against all of them at once: what
    batch formation alone costs. Groups and plain alternate within each round; with
    ``pack_tokens``, each is encoded padded and then packed, so the two meet in every round."""
    runs: dict[str, list] = {}
    flat = [t for b in batches for t in b]
    layouts = [None] + ([pack_tokens] if pack_tokens else [])
    for r in range(rounds):
        for name, groups in [("plain", [flat])] + [
            (f"groups of {n}", server_groups(batches, n)) for n in sizes
        ]:
            for rows in layouts:
                emb.pack_texts(rows)
                label = f"{name}, packed" if rows else name
                runs.setdefault(label, []).append(encode_rate(emb, groups))
        print(f"[replay {r + 1}] " + ", ".join(f"{k}: {v[-1]:.1f}" for k, v in runs.items()))
    return runs


def padding_share(emb, batches: list[list[str]], max_batch: int, passes: int) -> float:
    """Padded tokens over real tokens when consecutive requests are taken as the server takes
    them (until ``max_batch`` texts), sorted by length and run ``passes`` texts at a time."""
    real = padded = 0
    for group in server_groups(batches, max_batch):
        lengths = sorted((len(x) for x in emb.token_ids(group)), reverse=True)
        real += sum(lengths)
        padded += sum(
            lengths[i] * len(lengths[i : i + passes]) for i in range(0, len(lengths), passes)
        )
    return padded / real - 1


def response_cost_ms(dim: int, n: int = 16, repeats: int = 50) -> dict:
    """Milliseconds to write one n-text response: FastAPI's default path for a returned dict
    (jsonable_encoder, then json.dumps of Python floats) against orjson on the float32 rows."""
    from fastapi.encoders import jsonable_encoder

    vectors = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    rows = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    as_lists = [{**r, "embedding": r["embedding"].tolist()} for r in rows]

    def timed(fn):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return 1000 * (time.perf_counter() - start) / repeats

    return {
        "fastapi_default": timed(lambda: json.dumps(jsonable_encoder({"data": as_lists}))),
        "orjson": timed(lambda: orjson.dumps({"data": rows}, option=orjson.OPT_SERIALIZE_NUMPY)),
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--clients", default="1,4,16")
    p.add_argument("--requests", type=int, default=600, help="requests per client count")
    p.add_argument("--rounds", type=int, default=3, help="0: only the padding shares")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--serve-args", default="", help="extra `embedtune serve` flags")
    p.add_argument(
        "--attn-implementation",
        help="eager | sdpa, for the server and the plain encode alike (default: embedtune's)",
    )
    p.add_argument(
        "--pack-tokens",
        type=int,
        help="packed rows of this many tokens (no padding computed), for the server and the "
        "plain encode alike (default: padded passes)",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for the server process (repeatable), e.g. "
        "OMP_WAIT_POLICY=PASSIVE",
    )
    p.add_argument(
        "--replay",
        default="",
        metavar="SIZES",
        help="only replay the requests grouped as a server of each max batch would (e.g. "
        "64,128,256), encoded in this process, against plain encode; --rounds rounds; with "
        "--pack-tokens, each arm padded and packed in turn",
    )
    p.add_argument("--max-seconds", type=float, default=600, help="per measurement")
    p.add_argument("--output", help="write the results as JSON here")
    args = p.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    bad = [kv for kv in args.server_env if "=" not in kv]
    if bad:
        p.error(f"--server-env {bad[0]!r}: expected KEY=VALUE")

    from embedtune.data.demo import demo_sts, demo_triplets
    from embedtune.models import Embedder

    pool = sorted(set(demo_sts().sentences1 + demo_triplets().anchors))
    rng = random.Random(0)
    batches = [rng.sample(pool, rng.randint(1, 16)) for _ in range(args.requests)]
    flat = [t for b in batches for t in b]
    emb = Embedder.load(
        args.model,
        dtype=args.dtype,
        attn_implementation=args.attn_implementation,
        pack_tokens=args.pack_tokens,
    )
    emb.encode(flat[:64], batch_size=64)
    for passes in (64, 16):
        share = padding_share(emb, batches, 64, passes)
        print(f"padding in batches of 64 run {passes} at a time: {100 * share:.0f} %")
    if args.replay:
        sizes = [int(n) for n in args.replay.split(",")]
        runs = replay(emb, batches, sizes, args.rounds, args.pack_tokens)
        plain = statistics.median(runs["plain"])
        for name, v in runs.items():
            print(
                f"| {name} | {statistics.median(v):.1f} | {100 * statistics.median(v) / plain:.0f} % |"
            )
        if args.output:
            Path(args.output).write_text(json.dumps({"replay": runs}, indent=2) + "\n")
        return
    if not args.rounds:
        return

    # plain encode just before and just after the server, their mean the round's 100 %: this
    # machine's plain encode ranged 136-183 texts/s between rounds, and one measurement after
    # the server let that drift into the ratio
    runs: dict[str, list[dict]] = {f"server-{c}": [] for c in args.clients} | {"plain": []}
    encode_rate(emb, [flat])  # untimed: the first pass over every shape builds kernels and caches
    for r in range(args.rounds):
        before = encode_rate(emb, [flat])
        for c, out in serve_round(args, batches).items():
            runs[f"server-{c}"].append(out)
            print(f"[round {r + 1}] {c} clients: {json.dumps(out)}", flush=True)
        after = encode_rate(emb, [flat])
        runs["plain"].append(
            {"texts_per_s": (before + after) / 2, "before": before, "after": after}
        )
        print(f"[round {r + 1}] plain encode: {before:.1f} before, {after:.1f} after (texts/s)")
    med = {k: {m: statistics.median(x[m] for x in v) for m in v[0]} for k, v in runs.items()}
    plain = med["plain"]["texts_per_s"]
    cost = response_cost_ms(emb.dim)
    print(f"\n{len(batches)} requests, {len(flat)} texts, {args.rounds} rounds (medians)")
    print(f"serve flags: --max-batch 64 --max-wait-ms 10 {args.serve_args}".rstrip())
    if args.attn_implementation:
        print(f"attention (server and plain encode): {args.attn_implementation}")
    if args.pack_tokens:
        print(f"packed rows (server and plain encode): {args.pack_tokens} tokens")
    if args.server_env:
        print(f"server environment: {' '.join(args.server_env)}")
    print("| | texts/s | of plain encode | requests/s | p50 latency | p99 latency | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c in args.clients:
        m = med[f"server-{c}"]
        print(
            f"| server, {c} client{'s' if c > 1 else ''} | {m['texts_per_s']:.1f} "
            f"| {100 * m['texts_per_s'] / plain:.0f} % | {m['requests_per_s']:.1f} "
            f"| {m['p50_ms']:,.0f} ms | {m['p99_ms']:,.0f} ms | {m['errors']:.0f} |"
        )
    print(f"| plain batched `encode` (batch 64) | {plain:.1f} | 100 % | | | | |")
    print("\nwhere the CPU went (shares of cores x wall time, medians)")
    print("| clients | model threads | event loop | clients | idle |")
    print("|---:|---:|---:|---:|---:|")
    for c in args.clients:
        m = med[f"server-{c}"]
        print(
            f"| {c} | {100 * m['cpu_model']:.0f} % | {100 * m['cpu_event_loop']:.0f} % "
            f"| {100 * m['cpu_clients']:.0f} % | {100 * m['cpu_idle']:.0f} % |"
        )
    print(
        f"\none {16}-text response of {emb.dim} floats: FastAPI's default JSON "
        f"{cost['fastapi_default']:.1f} ms, orjson {cost['orjson']:.2f} ms"
    )
    if args.output:
        Path(args.output).write_text(
            json.dumps({"runs": runs, "medians": med, "response_ms": cost}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
