"""Batching requests from concurrent clients into one encode call.

Each request puts its texts on a bounded queue and awaits a future. One worker takes the
first waiting request, keeps collecting until ``max_batch`` texts or ``max_wait_ms`` have
passed, then also takes the requests already waiting, up to ``max_pool`` texts, without
waiting for more. It encodes them together in a thread (the model is not thread-safe, so
exactly one thread touches it) and hands each request its rows. A full queue refuses new
work at once instead of letting latency grow without bound.

Why a pool beyond ``max_batch``: the encoder sorts what it is given by length before cutting
it into passes, so the more requests it sees at once, the less padding its passes carry.
The cost: the first requests of a pool wait for its extra passes too. On a 2-core CPU under
16 clients it measured no faster (benchmarks/RESULTS.md, "Length sorting across the queue"),
so the server leaves it off (``max_pool`` None or at most ``max_batch``: no pool).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


class QueueFull(Exception):
    pass


class Batcher:
    def __init__(
        self,
        encode,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        max_queue: int = 1024,
        max_pool: int | None = None,
    ):
        self.encode = encode  # list[str] -> (N, D) array
        self.max_batch = max_batch
        self.max_pool = max(max_batch, max_pool or max_batch)
        self.max_wait = max_wait_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.max_queue = max_queue
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self.batches = 0  # encode calls made (for tests and /health)
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.max_queue)
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def embed(self, texts: list[str]) -> np.ndarray:
        if self._worker is None:
            self.start()
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((texts, future))
        except asyncio.QueueFull:
            raise QueueFull from None
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            count = len(items[0][0])
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                items.append(item)
                count += len(item[0])
            while count < self.max_pool and not self.queue.empty():
                item = self.queue.get_nowait()
                items.append(item)
                count += len(item[0])
            texts = [t for batch, _ in items for t in batch]
            try:
                vectors = await loop.run_in_executor(self.pool, self.encode, texts)
                self.batches += 1
            except Exception as e:  # one bad batch must not kill the worker
                for _, future in items:
                    if not future.done():
                        future.set_exception(e)
                continue
            start = 0
            for batch, future in items:
                if not future.done():
                    future.set_result(vectors[start : start + len(batch)])
                start += len(batch)
