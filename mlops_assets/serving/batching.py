"""Micro-batching: requests that arrive while a prediction is running are answered together by
the next one (one online-store read, one model call). Scoring 100 rows costs about what scoring
one does (pandas and scikit-learn overheads are per call), so under concurrent load this is what
keeps latency and throughput up; a lone request is answered at once, never held back to wait
for company."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class MicroBatcher:
    def __init__(self, work: Callable[[list[list[str]]], list], max_rows: int):
        self.work = work  # answers for each waiting request, in order (runs on the event loop)
        self.max_rows = max_rows
        self._queue: asyncio.Queue | None = None

    @property
    def queue(self) -> asyncio.Queue:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    async def submit(self, ids: list[str]):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((ids, future))
        return await future

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            rows = len(batch[0][0])
            while rows < self.max_rows and not self.queue.empty():
                item = self.queue.get_nowait()
                batch.append(item)
                rows += len(item[0])
            try:
                results = self.work([ids for ids, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
