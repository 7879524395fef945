"""Micro-batching: requests waiting together are answered by one call, each gets its own answer,
a failure reaches every waiting request, and a lone request is answered at once."""

import asyncio

from mlops_assets.serving.batching import MicroBatcher


def run(coroutine):
    return asyncio.run(coroutine)


async def with_batcher(work, body, max_rows=1000):
    batcher = MicroBatcher(work, max_rows=max_rows)
    task = asyncio.create_task(batcher.run())
    try:
        return await body(batcher)
    finally:
        task.cancel()


def test_waiting_requests_share_one_call_and_keep_their_answers():
    calls = []

    def work(requests):
        calls.append([len(r) for r in requests])
        return [[u.upper() for u in r] for r in requests]

    async def body(batcher):
        return await asyncio.gather(*(batcher.submit([f"u{i}", f"v{i}"]) for i in range(5)))

    answers = run(with_batcher(work, body))
    assert answers == [[f"U{i}", f"V{i}"] for i in range(5)]
    assert calls == [[2, 2, 2, 2, 2]]  # all five were waiting when the batcher woke: one call


def test_a_batch_stops_growing_at_max_rows():
    calls = []

    def work(requests):
        calls.append(sum(len(r) for r in requests))
        return [None] * len(requests)

    async def body(batcher):
        await asyncio.gather(*(batcher.submit(["a"] * 3) for _ in range(6)))

    run(with_batcher(work, body, max_rows=6))
    assert calls == [6, 6, 6]


def test_a_failure_reaches_every_waiting_request_and_the_batcher_goes_on():
    def work(requests):
        if any("bad" in r for r in requests):
            raise RuntimeError("online store unavailable")
        return [len(r) for r in requests]

    async def body(batcher):
        alone = await batcher.submit(["ok"])
        together = await asyncio.gather(batcher.submit(["bad"]), batcher.submit(["ok"]), return_exceptions=True)
        after = await batcher.submit(["ok", "ok"])
        return alone, together, after

    alone, together, after = run(with_batcher(work, body))
    assert alone == 1
    assert all(isinstance(r, RuntimeError) and "unavailable" in str(r) for r in together)  # one batch, one failure
    assert after == 2


def test_a_lone_request_is_answered_without_waiting():
    async def body(batcher):
        return await asyncio.wait_for(batcher.submit(["a"]), timeout=1)

    assert run(with_batcher(lambda requests: ["done"] * len(requests), body)) == "done"


def test_a_request_larger_than_max_rows_is_still_answered():
    async def body(batcher):
        return await asyncio.gather(batcher.submit(["a", "b", "c"]), batcher.submit(["d"]))

    assert run(with_batcher(lambda requests: [len(r) for r in requests], body, max_rows=2)) == [3, 1]
